import type { Logger } from './logger';
import { retryDelay } from './backoff';
import { connectRedis, type Redis, type RedisTarget } from './redis';

/** The channel Redis sends key invalidations on (CLIENT TRACKING … REDIRECT). */
const INVALIDATE_CHANNEL = '__redis__:invalidate';

export interface TrackedCacheOptions {
  /** Entries older than this are read again (a bound for anything tracking could not see). */
  maxAgeMs?: number;
  /** Above this many entries, everything is dropped (then filled again by reads). */
  maxEntries?: number;
}

/**
 * A process-local copy of Redis values under one key prefix, kept exact by Redis itself
 * (server-assisted client-side caching: CLIENT TRACKING in broadcast mode). Every change to a key
 * under the prefix (a write, a delete, an expiry, a flush) makes Redis send an invalidation to a
 * connection of this cache, which drops the key.
 *
 * Local values are used only while tracking is known to be on: invalidations subscribed on the
 * cache's own connection, and tracking enabled on the reading connection since its last
 * (re)connect. A drop of either clears everything and reads go to Redis until both are back. A
 * value read before an invalidation (or before tracking was on) is not kept: `generation()` is
 * taken before the read and `remember` refuses a value read in an older generation.
 *
 * Not for a Redis Cluster (tracking is per node there): the caller then does without.
 */
export class TrackedCache<V> {
  private readonly values = new Map<string, { value: V; at: number }>();
  private gen = 0;
  private on = false;
  private starting = false;
  private closed = false;
  private attempts = 0;
  private retry: NodeJS.Timeout | undefined;
  private tracker: Redis | null = null;
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;

  /**
   * `reads`: the connection the values are read on (tracking is enabled on it). `keyPrefix`: its
   * ioredis key prefix; `prefix`: the tracked keys' prefix after it (e.g. `permissions:`). Keys
   * passed to `get`/`remember` are without the ioredis prefix, as commands take them.
   */
  constructor(
    private readonly reads: Redis,
    private readonly target: RedisTarget,
    private readonly keyPrefix: string,
    private readonly prefix: string,
    private readonly log: Logger,
    opts: TrackedCacheOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 100_000;
    // tracking belongs to the connection: a reconnected one starts without it
    reads.on('close', this.off);
    reads.on('ready', this.onReady);
    if (reads.status === 'ready') void this.start();
  }

  /** Whether local values are used now. */
  get active(): boolean {
    return this.on;
  }

  /** Take before reading a value from Redis; pass to `remember` with what was read. */
  generation(): number {
    return this.gen;
  }

  get(key: string): V | undefined {
    if (!this.on) return undefined;
    const entry = this.values.get(key);
    if (!entry) return undefined;
    if (Date.now() - entry.at > this.maxAgeMs) {
      this.values.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /**
   * Keeps what `update` makes of the key's local value (undefined: none yet), unless tracking is
   * off or anything was invalidated since `generation` was taken.
   */
  remember(key: string, generation: number, update: (current: V | undefined) => V): void {
    if (!this.on || generation !== this.gen) return;
    const current = this.get(key);
    if (current === undefined && this.values.size >= this.maxEntries) this.values.clear();
    this.values.set(key, { value: update(current), at: current === undefined ? Date.now() : this.values.get(key)!.at });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.off();
    this.reads.off('close', this.off);
    this.reads.off('ready', this.onReady);
    const tracker = this.tracker;
    this.tracker = null;
    tracker?.disconnect();
  }

  private readonly onReady = (): void => void this.start();

  private readonly off = (): void => {
    this.on = false;
    this.gen++;
    this.values.clear();
  };

  private invalidate(keys: Buffer[] | null): void {
    this.gen++;
    // null: the whole database was flushed
    if (!keys) return this.values.clear();
    for (const k of keys) {
      const key = k.toString();
      if (key.startsWith(this.keyPrefix)) this.values.delete(key.slice(this.keyPrefix.length));
    }
  }

  /** Subscribes to invalidations (a new connection when needed), then turns tracking on for the reads. */
  private async start(): Promise<void> {
    if (this.closed || this.starting) return;
    this.starting = true;
    this.off();
    try {
      const id = await this.invalidations();
      // re-enabling with other options needs it off first (harmless when it was not on)
      await this.reads.client('TRACKING', 'OFF');
      await this.reads.client('TRACKING', 'ON', 'REDIRECT', String(id), 'BCAST', 'PREFIX', this.keyPrefix + this.prefix);
      if (this.closed || this.reads.status !== 'ready' || this.tracker?.status !== 'ready') return;
      this.gen++;
      this.on = true;
      if (this.attempts > 0) this.log.info({ cache: this.prefix }, 'local cache tracking on again');
      this.attempts = 0;
    } catch (err) {
      if (this.attempts === 0)
        this.log.warn({ cache: this.prefix, err: (err as Error).message }, 'local cache off: tracking not available');
      this.again();
    } finally {
      this.starting = false;
    }
  }

  private again(): void {
    if (this.closed) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.start(), retryDelay(++this.attempts));
    this.retry.unref();
  }

  /** The invalidation connection's client id, connecting and subscribing it first if it is not up. */
  private async invalidations(): Promise<number> {
    if (this.tracker?.status === 'ready' && this.trackerId !== undefined) return this.trackerId;
    this.tracker?.disconnect();
    // a connection of its own, never reconnected by ioredis: a new one is made (and tracking
    // enabled again against its id) after any drop
    const tracker = connectRedis(this.target, {
      // named, so it can be told apart in CLIENT LIST
      connectionName: `tracked:${this.keyPrefix}${this.prefix}`,
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
    });
    this.tracker = tracker;
    tracker.on('error', () => undefined); // its close says enough
    tracker.once('close', () => {
      if (this.tracker !== tracker) return;
      this.tracker = null;
      this.trackerId = undefined;
      this.off();
      this.again();
    });
    tracker.on('messageBuffer', (channel: Buffer, keys: Buffer[] | null) => {
      if (channel.toString() === INVALIDATE_CHANNEL) this.invalidate(keys);
    });
    await tracker.connect();
    const id = Number(await tracker.client('ID'));
    await tracker.subscribe(INVALIDATE_CHANNEL);
    this.trackerId = id;
    return id;
  }

  private trackerId: number | undefined;
}
