import { selectedFields } from '@tm/kit/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, Info, Int, Resolver, Root } from 'type-graphql';
import type { TasksContext } from '../context';
import { TaskFilter, TaskOrder } from '../task/task.inputs';
import { TaskConnection } from '../task/task.resolver';
import { SortDirection, TaskOrderField } from '../task/task.enums';
import { ProjectRef } from './project.ref';

@Resolver(() => ProjectRef)
export class ProjectTasksResolver {
  @FieldResolver(() => TaskConnection, { description: "The project's tasks (VIEWER or better), board order by default" })
  tasks(
    @Root() project: ProjectRef,
    @Ctx() ctx: TasksContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('filter', () => TaskFilter, { nullable: true }) filter?: TaskFilter,
    @Arg('orderBy', () => TaskOrder, { nullable: true }) orderBy?: TaskOrder,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const wanted = selectedFields(info);
    const order = orderBy ?? { field: TaskOrderField.POSITION, direction: SortDirection.ASC };
    return ctx.services.queries.forProject(
      ctx.access,
      project.id,
      filter,
      order,
      { first, after },
      {
        edges: wanted.has('edges') || wanted.has('pageInfo'),
        totalCount: wanted.has('totalCount'),
      },
    );
  }
}

export const projectReference = {
  Project: { __resolveReference: (ref: { id: string }): ProjectRef => ({ id: ref.id }) },
};
