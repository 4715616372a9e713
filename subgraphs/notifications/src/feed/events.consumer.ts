import { hostname } from 'node:os';
import { classify, ErrorCode, eventStream, type DomainEvent, type Logger, type Redis } from '@tm/kit';
import client from 'prom-client';

export const NOTIFICATIONS_GROUP = 'notifications';
export const STREAMS = ['tasks', 'projects', 'files', 'users'].map(eventStream);

type StreamEntries = Array<[id: string, fields: string[] | null]>;

/** Tries of an event that fails for another reason than an unavailable dependency, before it is dropped. */
const MAX_TRIES = 5;
const TRANSIENT = new Set<string>([ErrorCode.DatabaseUnavailable, ErrorCode.ServiceUnavailable]);
const isTransient = (err: unknown) => TRANSIENT.has(classify(err)?.code ?? '');

/**
 * Reads the domain streams in the consumer group `notifications`, shared by every notifications
 * process: at-least-once (an event is acknowledged once handled; a handler failure leaves it
 * pending and it is read again), resuming from the group's position after downtime (nothing is
 * lost meanwhile), taking over a dead consumer's pending events after `claimIdleMs`. Handling is
 * idempotent by event id (each notification's key names its event). Polls, never a blocking read.
 */
export class EventsConsumer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private groupsReady = false;
  private readonly consumer = `${hostname()}-${process.pid}`;
  private readonly handled: client.Counter<'type' | 'outcome'>;
  /** Failed tries per stream entry in this process (a non-transient failure is given up after MAX_TRIES). */
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly handle: (event: DomainEvent) => Promise<void>,
    private readonly log: Logger,
    registry: client.Registry,
    private readonly opts: { intervalMs: number; claimIdleMs: number },
  ) {
    this.handled = new client.Counter({
      name: 'notification_events_total',
      help: 'Domain events read by the notifications consumer, by type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    });
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.poll()
        .then((n) => (n > 0 ? 0 : this.opts.intervalMs))
        .catch((err: unknown) => {
          this.log.debug({ err: (err as Error).message }, 'event poll failed');
          return this.opts.intervalMs;
        })
        .then((delay) => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, delay);
        });
    };
    tick();
  }

  private async ensureGroups(): Promise<void> {
    if (this.groupsReady) return;
    for (const stream of STREAMS) {
      try {
        // ioredis does not apply its key prefix to XGROUP's key; from the start: handling is idempotent
        await this.redis.xgroup('CREATE', `${this.redis.options.keyPrefix ?? ''}${stream}`, NOTIFICATIONS_GROUP, '0', 'MKSTREAM');
      } catch (err) {
        if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      }
    }
    this.groupsReady = true;
  }

  /** One round per stream: stale pending events taken over, this consumer's unacknowledged ones, new ones. */
  async poll(): Promise<number> {
    if (this.redis.status !== 'ready') return 0;
    await this.ensureGroups();
    let n = 0;
    for (const stream of STREAMS) {
      const claimed = (await this.redis.xautoclaim(
        stream,
        NOTIFICATIONS_GROUP,
        this.consumer,
        this.opts.claimIdleMs,
        '0-0',
        'COUNT',
        100,
      )) as [string, StreamEntries];
      n += await this.process(stream, claimed[1] ?? []);
      const mine = (await this.redis.xreadgroup(
        'GROUP',
        NOTIFICATIONS_GROUP,
        this.consumer,
        'COUNT',
        100,
        'STREAMS',
        stream,
        '0',
      )) as Array<[string, StreamEntries]> | null;
      n += await this.process(stream, mine?.[0]?.[1] ?? []);
      const fresh = (await this.redis.xreadgroup(
        'GROUP',
        NOTIFICATIONS_GROUP,
        this.consumer,
        'COUNT',
        100,
        'STREAMS',
        stream,
        '>',
      )) as Array<[string, StreamEntries]> | null;
      n += await this.process(stream, fresh?.[0]?.[1] ?? []);
    }
    return n;
  }

  /** In stream order; the first failure stops the stream's round (its event and later ones are read again). */
  private async process(stream: string, entries: StreamEntries): Promise<number> {
    let n = 0;
    for (const [id, fields] of entries) {
      if (this.stopped) break;
      let event: DomainEvent | null = null;
      try {
        event = fields ? (JSON.parse(fields[fields.indexOf('event') + 1] ?? '') as DomainEvent) : null;
      } catch {
        this.log.warn({ streamId: id }, 'malformed event skipped');
      }
      if (event) {
        try {
          await this.handle(event);
          this.handled.inc({ type: event.type, outcome: 'ok' });
          this.failures.delete(id);
        } catch (err) {
          this.handled.inc({ type: event.type, outcome: 'error' });
          const tries = (this.failures.get(id) ?? 0) + 1;
          // a store or another service being down: wait for it, however long (nothing is dropped);
          // anything else (a bug, a malformed payload) would block the stream for ever: give up on it
          if (isTransient(err) || tries < MAX_TRIES) {
            this.failures.set(id, tries);
            this.log.warn({ err, type: event.type, eventId: event.id, tries }, 'event not handled yet; will retry');
            break;
          }
          this.failures.delete(id);
          this.log.error({ err, type: event.type, eventId: event.id, tries }, 'event dropped after repeated failures');
          this.handled.inc({ type: event.type, outcome: 'dropped' });
        }
      }
      await this.redis.xack(stream, NOTIFICATIONS_GROUP, id);
      n++;
    }
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
