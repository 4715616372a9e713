import { Arg, Authorized, Ctx, ID, Mutation, Resolver, Root, Subscription } from 'type-graphql';
import { invalidInput } from '@tm/kit/contracts';
import type { UsersContext } from '../context';
import { PresenceEvent } from './presence.subscription';

/** A client's name for itself in presence (a tab, a device, a gateway process). */
const CLIENT_ID = /^[\w.:-]{1,100}$/;

@Resolver()
export class PresenceResolver {
  @Authorized()
  @Mutation(() => Boolean, {
    description:
      'Keeps you online in a project for 60 s (send every ~20 s); online: false leaves at once. Open subscriptions send it for you. ' +
      'With clientId (e.g. one per tab or device), you stay online while any of your clients does, and online: false leaves for that client only',
  })
  heartbeat(
    @Arg('projectId', () => ID) projectId: string,
    @Ctx() ctx: UsersContext,
    @Arg('online', () => Boolean, { nullable: true, defaultValue: true }) online: boolean,
    @Arg('clientId', () => String, { nullable: true }) clientId?: string | null,
  ): Promise<boolean> {
    if (clientId != null && !CLIENT_ID.test(clientId)) throw invalidInput('clientId', 'must be 1-100 letters, digits or . _ : -');
    return ctx.services.presence.heartbeat(ctx.user.userId!, projectId, online, clientId ?? undefined);
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
