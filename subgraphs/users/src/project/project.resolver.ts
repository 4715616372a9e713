import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { UsersContext } from '../context';
import { User } from '../user/user.model';
import { ProjectRef } from './project.ref';

@Resolver(() => ProjectRef)
export class ProjectPresenceResolver {
  @FieldResolver(() => [User], { description: 'Members online in this project now' })
  async onlineUsers(@Root() project: ProjectRef, @Ctx() ctx: UsersContext): Promise<User[]> {
    if (!ctx.user.userId || !(await ctx.services.permissions.access(ctx.user.userId, project.id))) return [];
    const ids = await ctx.services.presence.online(project.id);
    const users = await ctx.loaders.user.loadMany(ids);
    return users.filter((u): u is User => !!u && !(u instanceof Error));
  }
}

export const projectReference = {
  Project: { __resolveReference: (ref: { id: string }): ProjectRef => ({ id: ref.id }) },
};
