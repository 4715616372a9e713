import { type DomainEvent, eventStream, type Logger, type Redis, StreamConsumer } from '@tm/kit/infra';
import client from 'prom-client';

export const NOTIFICATIONS_GROUP = 'notifications';
export const STREAMS = ['tasks', 'projects', 'files', 'users'].map(eventStream);

/** Tries of an event that fails for another reason than an unavailable dependency, before it is dropped. */
const MAX_TRIES = 5;

/**
 * Reads the domain streams through the kit's stream consumer in the group `notifications`, shared
 * by every notifications process. Handling is idempotent by event id (each notification's key
 * names its event); an outage is waited out, any other failure given up after MAX_TRIES (logged,
 * counted as dropped) so it cannot block its stream.
 */
export class EventsConsumer extends StreamConsumer {
  constructor(
    redis: Redis,
    handle: (event: DomainEvent) => Promise<void>,
    log: Logger,
    registry: client.Registry,
    opts: { intervalMs: number; claimIdleMs: number },
  ) {
    const events = new client.Counter({
      name: 'notification_events_total',
      help: 'Domain events read by the notifications consumer, by type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    });
    super(redis, log, {
      group: NOTIFICATIONS_GROUP,
      streams: STREAMS,
      handle,
      pollMs: opts.intervalMs,
      claimIdleMs: opts.claimIdleMs,
      maxTries: MAX_TRIES,
      onOutcome: ({ event, outcome }) => {
        if (event && outcome !== 'skipped') events.inc({ type: event.type, outcome });
      },
      lagMetrics: { registry, prefix: 'notification' },
    });
  }
}
