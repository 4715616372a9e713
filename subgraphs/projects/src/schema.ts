import { buildFederatedSchema } from '@tm/kit/graphql';
import type { GraphQLSchema } from 'graphql';
import { ProjectAdminResolver } from './admin/admin.resolver';
import { ProjectMemberResolver } from './project-member/project-member.resolver';
import { ProjectEventResolver } from './project/project.subscription';
import { projectReference } from './project/project.reference';
import { ProjectResolver } from './project/project.resolver';
import { UserProjectsResolver, userReference } from './user/user.resolver';

export function buildProjectsSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    { resolvers: [ProjectResolver, ProjectEventResolver, ProjectMemberResolver, UserProjectsResolver, ProjectAdminResolver] },
    { ...projectReference, ...userReference },
  );
}
