import { buildFederatedSchema } from '@tm/kit/graphql';
import type { GraphQLSchema } from 'graphql';
import { TaskAdminResolver } from './admin/admin.resolver';
import { projectReference, ProjectTasksResolver } from './project/project.resolver';
import { TaskEventResolver } from './task/task.subscription';
import { taskReference } from './task/task.reference';
import { CommentResolver } from './comment/comment.resolver';
import { TaskResolver } from './task/task.resolver';
import { AssignedTasksResolver, userReference } from './user/user.resolver';

export function buildTasksSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    {
      resolvers: [
        TaskResolver,
        TaskEventResolver,
        CommentResolver,
        ProjectTasksResolver,
        AssignedTasksResolver,
        TaskAdminResolver,
      ],
    },
    { ...taskReference, ...projectReference, ...userReference },
  );
}
