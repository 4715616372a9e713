import { selectedFields } from '@tm/kit/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, Info, Int, Resolver, Root } from 'type-graphql';
import type { TasksContext } from '../context';
import { TaskFilter } from '../task/task.inputs';
import { TaskConnection } from '../task/task.resolver';
import { UserRef } from './user.ref';

@Resolver(() => UserRef)
export class AssignedTasksResolver {
  @FieldResolver(() => TaskConnection, { description: 'Tasks assigned to the user, in projects you can see, soonest due first' })
  assignedTasks(
    @Root() user: UserRef,
    @Ctx() ctx: TasksContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('filter', () => TaskFilter, { nullable: true }) filter?: TaskFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const wanted = selectedFields(info);
    return ctx.services.queries.forAssignee(
      ctx.access,
      user.id,
      filter,
      { first, after },
      {
        edges: wanted.has('edges') || wanted.has('pageInfo'),
        totalCount: wanted.has('totalCount'),
      },
    );
  }
}

export const userReference = {
  User: { __resolveReference: (ref: { id: string }): UserRef => ({ id: ref.id }) },
};
