import { Arg, Authorized, Ctx, Directive, Field, FieldResolver, ID, Mutation, ObjectType, Resolver, Root, Subscription } from 'type-graphql';
import type { UsersContext } from '../context';
import { User } from '../user/user.model';

/** The projects subgraph's Project, as users knows it: users adds `Project.onlineUsers`. */
@Directive('@key(fields: "id")')
@ObjectType('Project')
export class ProjectRef {
  @Field(() => ID)
  public id!: string;
}

@ObjectType({ description: 'Someone came online or went offline in a project' })
export class PresenceEvent {
  @Field(() => User)
  public user!: User;

  @Field()
  public online!: boolean;

  @Field(() => Date)
  public at!: Date;
}

@Resolver()
export class PresenceResolver {
  @Authorized()
  @Mutation(() => Boolean, {
    description: 'Keeps you online in a project for 60 s (send every ~20 s); online: false leaves at once. Open subscriptions send it for you',
  })
  heartbeat(
    @Arg('projectId', () => ID) projectId: string,
    @Ctx() ctx: UsersContext,
    @Arg('online', () => Boolean, { nullable: true, defaultValue: true }) online: boolean,
  ): Promise<boolean> {
    return ctx.services.presence.heartbeat(ctx.user.userId!, projectId, online);
  }

  /** Served by the gateway over graphql-ws; declared here, where presence lives. */
  @Subscription(() => PresenceEvent, {
    description: 'Members of a project coming online or going offline (graphql-ws on the gateway)',
    subscribe: () => {
      throw new Error('served by the gateway');
    },
  })
  presenceChanged(@Arg('projectId', () => ID) _projectId: string, @Root() event: PresenceEvent): PresenceEvent {
    return event;
  }
}

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
