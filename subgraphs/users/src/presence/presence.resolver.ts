import { Arg, Authorized, Ctx, ID, Mutation, Resolver, Root, Subscription } from 'type-graphql';
import type { UsersContext } from '../context';
import { PresenceEvent } from './presence.subscription';

@Resolver()
export class PresenceResolver {
  @Authorized()
  @Mutation(() => Boolean, {
    description:
      'Keeps you online in a project for 60 s (send every ~20 s); online: false leaves at once. Open subscriptions send it for you',
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
