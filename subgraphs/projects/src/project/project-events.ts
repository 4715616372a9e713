import type { EventPublisher, LivePublisher } from '@tm/kit';
import { LIVE_KIND } from './project-event';

/** Every project change goes to the projects stream (domain) and to `projectChanged` (live). */
export class ProjectEvents {
  constructor(
    private readonly stream: EventPublisher,
    private readonly live: LivePublisher,
  ) {}

  async emit(type: string, payload: { projectId: string } & Record<string, unknown>, meta: { actorId: string; correlationId: string }): Promise<void> {
    await this.stream.publish(type, payload, meta);
    const kind = LIVE_KIND[type];
    if (kind) {
      await this.live.publish('projectChanged', payload.projectId, {
        kind,
        projectId: payload.projectId,
        actorId: meta.actorId,
        userId: typeof payload.userId === 'string' ? payload.userId : null,
      });
    }
  }
}
