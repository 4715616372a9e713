import { buildFederatedSchema } from '@tm/kit/graphql';
import type { GraphQLSchema } from 'graphql';
import { FileAdminResolver } from './admin/admin.resolver';
import { fileReference } from './file/file.reference';
import { FileResolver } from './file/file.resolver';
import { TaskAttachmentsResolver, taskReference } from './task/task.resolver';

export function buildFilesSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    { resolvers: [FileResolver, TaskAttachmentsResolver, FileAdminResolver] },
    { ...fileReference, ...taskReference },
  );
}
