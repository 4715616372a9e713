import { randomUUID } from 'node:crypto';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Logger } from './logger';
import { duplicateRedis, type Redis } from './redis';
import { currentTraceparent } from './tracing';

/**
 * A domain event on a subgraph's stream (`events:{subgraph}`), at-least-once to consumers. An entry's
 * fields: `type`, `event` (this, as JSON) and, while tracing is on, `traceparent` (W3C trace context).
 */
export interface DomainEvent<P = Record<string, unknown>> {
  id: string;
  type: string;
  at: string;
  actorId: string | null;
  correlationId: string | null;
  payload: P;
}

export const eventStream = (subgraph: string) => `events:${subgraph}`;

/** Default retention of a domain stream (entries, trimmed approximately). */
export const EVENTS_STREAM_MAXLEN = 1_000_000;

/**
 * Appends domain events to the subgraph's Redis stream, keeping about `maxLen` entries (the
 * service's EVENTS_STREAM_MAXLEN; 0 keeps every entry).
 */
export class EventPublisher {
  constructor(
    private readonly subgraph: string,
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly maxLen: number = EVENTS_STREAM_MAXLEN,
  ) {}

  async publish<P extends Record<string, unknown>>(
    type: string,
    payload: P,
    meta: { actorId?: string | null; correlationId?: string | null } = {},
  ): Promise<DomainEvent<P>> {
    const event: DomainEvent<P> = {
      id: randomUUID(),
      type,
      at: new Date().toISOString(),
      actorId: meta.actorId ?? null,
      correlationId: meta.correlationId ?? null,
      payload,
    };
    await this.append(event);
    return event;
  }

  /**
   * Appends an event built earlier (e.g. kept in an outbox): same id, so consumers can de-duplicate.
   * The entry's `traceparent` field names the change that caused it (given, e.g. kept in the outbox
   * with the event; else the active span's), so the consumers' spans join its trace.
   */
  async append(event: DomainEvent, traceparent: string | undefined = currentTraceparent()): Promise<void> {
    const fields = ['type', event.type, 'event', JSON.stringify(event)];
    if (traceparent) fields.push('traceparent', traceparent);
    if (this.maxLen > 0) await this.redis.xadd(eventStream(this.subgraph), 'MAXLEN', '~', String(this.maxLen), '*', ...fields);
    else await this.redis.xadd(eventStream(this.subgraph), '*', ...fields);
    this.log.debug({ type: event.type, eventId: event.id }, 'event published');
  }
}

/** Redis pub/sub channel of a live update (the gateway's RedisPubSub subscribes to the same names). */
export function liveChannel(prefix: string, name: string, key: string): string {
  return `${prefix}live:${name}:${key}`;
}

const pubsubs = new WeakMap<Redis, RedisPubSub>();

/**
 * The publishing side of live updates: graphql-redis-subscriptions' RedisPubSub on the service's
 * own Redis client (its options and command timeout). Payloads are sent as JSON; one already
 * serialised (the outbox stores live messages so) is sent as it is. Channel names carry the key
 * prefix themselves (`liveChannel`): ioredis applies `keyPrefix` to keys, not to channels.
 */
export function livePubSub(redis: Redis): RedisPubSub {
  let pubsub = pubsubs.get(redis);
  if (!pubsub) {
    pubsub = new RedisPubSub({
      publisher: redis,
      // this side only publishes: a subscriber that never connects
      subscriber: duplicateRedis(redis, { lazyConnect: true }),
      serializer: (payload: unknown) => (typeof payload === 'string' ? payload : JSON.stringify(payload)),
    });
    pubsubs.set(redis, pubsub);
  }
  return pubsub;
}

/**
 * Publishes a live update (at-most-once, Redis pub/sub) for the gateway's subscribers. Failures
 * are logged, not thrown: the change itself is done, and clients refetch after reconnecting.
 */
export class LivePublisher {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  async publish(name: string, key: string, message: Record<string, unknown>): Promise<void> {
    try {
      await livePubSub(this.redis).publish(liveChannel(this.prefix, name, key), { ...message, at: new Date().toISOString() });
    } catch (err) {
      this.log.warn({ err, name }, 'live update not published');
    }
  }
}
