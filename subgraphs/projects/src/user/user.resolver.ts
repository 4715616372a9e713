import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { ProjectsContext } from '../context';
import { ProjectConnection } from '../project/project.resolver';
import { UserRef } from './user.ref';

@Resolver(() => UserRef)
export class UserProjectsResolver {
  @FieldResolver(() => ProjectConnection, {
    description: "The user's projects: all of them for the user and admins, the shared ones for anyone else",
  })
  projects(
    @Root() user: UserRef,
    @Ctx() ctx: ProjectsContext,
    @Arg('search', () => String, { nullable: true }) search?: string,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const viewer = ctx.user.userId;
    const all = viewer === user.id || ctx.user.roles.includes('ADMIN');
    if (!viewer)
      return {
        edges: [],
        totalCount: 0,
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      };
    return ctx.services.projects.listForUser(user.id, { search, first, after }, all ? undefined : viewer);
  }
}

export const userReference = {
  User: { __resolveReference: (ref: { id: string }): UserRef => ({ id: ref.id }) },
};
