import { liveChannel, pendingEvent, type PendingEvent } from '@tm/kit/infra';
import { LIVE_KIND } from './project.subscription';
import type { Actor } from './project.service';

/**
 * The domain event (projects stream) and live message (`projectChanged` of the project) of one
 * change, ready to be stored by the change's own update in the outbox of the document it writes:
 * the project for project events, the membership for membership events.
 */
export class ProjectEvents {
  constructor(private readonly prefix: string) {}

  of(type: string, payload: { projectId: string } & Record<string, unknown>, actor: Actor): PendingEvent {
    const kind = LIVE_KIND[type];
    const live = kind && {
      channel: liveChannel(this.prefix, 'projectChanged', payload.projectId),
      message: {
        kind,
        projectId: payload.projectId,
        actorId: actor.userId,
        userId: typeof payload.userId === 'string' ? payload.userId : null,
        at: new Date().toISOString(),
      },
    };
    return pendingEvent(type, payload, { actorId: actor.userId, correlationId: actor.correlationId }, live);
  }
}
