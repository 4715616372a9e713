import { RedisPubSub } from 'graphql-redis-subscriptions';
import { connectRedis, type Logger, type Redis, type RedisTarget, retryDelay } from '@tm/kit/infra';

/** A live message as published: the parsed JSON (parsed once per message, shared by every listener). */
export type Listener = (message: unknown) => void;

/**
 * The subscriber side of live updates: graphql-redis-subscriptions' RedisPubSub on one Redis
 * connection per gateway process, shared by every live subscription. RedisPubSub counts
 * listeners per channel (SUBSCRIBE for the first, UNSUBSCRIBE after the last) and its
 * `subscribe(trigger, onMessage)` resolves once Redis confirmed the subscription, so no event
 * published after a client was told "subscribed" is missed. (Its `asyncIterator` is not used: it
 * subscribes only on the first `next()`, which leaves exactly that gap.)
 */
export class ChannelHub {
  private readonly sub: Redis;
  private readonly pubsub: RedisPubSub;
  private readonly counts = new Map<string, number>();
  private closed = false;

  constructor(
    target: RedisTarget,
    private readonly log: Logger,
  ) {
    this.sub = catchUnsubscribes(
      connectRedis(target, { retryStrategy: (n) => retryDelay(n), maxRetriesPerRequest: null, lazyConnect: false }),
    );
    this.sub.on('error', (err: Error) => log.warn({ err: err.message }, 'live-update subscriber connection error'));
    this.pubsub = new RedisPubSub({
      subscriber: this.sub,
      // this side only listens: a publisher that never connects (gateways publish on their own client)
      publisher: connectRedis(target, { lazyConnect: true }),
    });
  }

  /** Adds a listener; resolves (with its remover) once the channel is subscribed in Redis. */
  async listen(channel: string, fn: Listener): Promise<() => Promise<void>> {
    const id = await this.pubsub.subscribe(channel, (message: unknown) => {
      try {
        fn(message);
      } catch (err) {
        this.log.error({ err }, 'live listener failed');
      }
    });
    this.counts.set(channel, (this.counts.get(channel) ?? 0) + 1);
    let removed = false;
    return async () => {
      if (removed || this.closed) return;
      removed = true;
      const left = (this.counts.get(channel) ?? 1) - 1;
      if (left > 0) this.counts.set(channel, left);
      else this.counts.delete(channel);
      this.pubsub.unsubscribe(id);
    };
  }

  channelCount(): number {
    return this.counts.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.counts.clear();
    await this.sub.quit().catch(() => this.sub.disconnect());
    this.pubsub.getPublisher().disconnect();
  }
}

/**
 * RedisPubSub sends UNSUBSCRIBE (and PUNSUBSCRIBE) without waiting for or catching the reply; while
 * Redis is away that command fails later, and an unhandled rejection would end the process. The
 * connection's error handler logs the outage, and its channels are gone with it anyway.
 */
function catchUnsubscribes(sub: Redis): Redis {
  for (const name of ['unsubscribe', 'punsubscribe'] as const) {
    const send = sub[name].bind(sub) as (...args: unknown[]) => Promise<unknown>;
    (sub as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const p = send(...args);
      p.catch(() => undefined);
      return p;
    };
  }
  return sub;
}
