import { Redis } from 'ioredis';
import { retryDelay, type Logger } from '@tm/kit';

export type Listener = (message: string) => void;

/**
 * One Redis subscriber connection per gateway process, shared by every live subscription:
 * a channel is SUBSCRIBEd when its first listener arrives and UNSUBSCRIBEd when its last one
 * leaves. `listen` resolves only once Redis confirmed the subscription, so no event published
 * after a client was told "subscribed" can be missed (graphql-redis-subscriptions subscribes
 * lazily on the first `next()`, which leaves such a gap).
 */
export class ChannelHub {
  private readonly sub: Redis;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly ready = new Map<string, Promise<unknown>>();

  constructor(
    url: string,
    private readonly log: Logger,
  ) {
    this.sub = new Redis(url, { retryStrategy: (n) => retryDelay(n), maxRetriesPerRequest: null, lazyConnect: false });
    this.sub.on('error', (err: Error) => log.warn({ err: err.message }, 'live-update subscriber connection error'));
    this.sub.on('message', (channel: string, message: string) => {
      for (const fn of this.listeners.get(channel) ?? []) {
        try {
          fn(message);
        } catch (err) {
          log.error({ err }, 'live listener failed');
        }
      }
    });
  }

  /** Adds a listener; resolves (with its remover) once the channel is subscribed in Redis. */
  async listen(channel: string, fn: Listener): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      this.ready.set(channel, this.sub.subscribe(channel));
    }
    set.add(fn);
    try {
      await this.ready.get(channel);
    } catch (err) {
      await this.remove(channel, fn);
      throw err;
    }
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      await this.remove(channel, fn);
    };
  }

  private async remove(channel: string, fn: Listener): Promise<void> {
    const set = this.listeners.get(channel);
    if (!set) return;
    set.delete(fn);
    if (set.size === 0) {
      this.listeners.delete(channel);
      this.ready.delete(channel);
      await this.sub.unsubscribe(channel).catch((err: unknown) => this.log.warn({ err }, 'unsubscribe failed'));
    }
  }

  channelCount(): number {
    return this.listeners.size;
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.sub.quit().catch(() => this.sub.disconnect());
  }
}
