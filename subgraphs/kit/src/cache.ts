import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from './logger';
import type { Redis } from './redis';

export interface VersionedCacheOptions<T> {
  /** How long a value stays: bounds staleness only when a write could not reach Redis. */
  ttlMs: number;
  /** Rebuilds a value from its JSON (e.g. dates). */
  revive?: (json: unknown) => T;
  /**
   * Refresh-ahead: a value read in the last this-many ms of its life is still answered, and reloaded
   * in the background (by one process at a time), so a value in steady use never expires under a
   * reader. For values whose load is slow; costs one PTTL per read (same round trip).
   */
  refreshAheadMs?: number;
}

/** A scope's version outlives every value cached under it. */
const VERSION_TTL_MS = 24 * 3600_000;

/**
 * A short-lived Redis read cache of database reads that is exact on writes.
 *
 * Values live per scope (a project, a user) under the scope's current version. Writers call
 * `changed(scope)` after their write and before answering or publishing it; that gives the scope
 * a new version. A reader takes the version before it reads the database and stores what it read
 * under that version, so a value read before a write sits under an old version nobody asks for
 * again, and every read after a write's answer sees the write (no "stale refill" race, unlike
 * delete-on-write). Versions are random, never reused: a version key lost from Redis cannot bring
 * old values back.
 */
export class VersionedCache<T> {
  /** Reads in progress in this process, shared by everyone asking for the same value meanwhile. */
  private readonly inFlight = new Map<string, Promise<T>>();

  constructor(
    private readonly redis: Redis,
    private readonly name: string,
    private readonly opts: VersionedCacheOptions<T>,
    private readonly log: Logger,
  ) {}

  /**
   * The value of `scope` (and `variant`: anything else that shapes it, e.g. page arguments), from
   * the cache or from `load`. Without Redis, straight from `load`.
   */
  async read(scope: string, load: () => Promise<T>, variant: unknown = ''): Promise<T> {
    let version: string;
    try {
      [version] = (await this.versions([scope])) as [string];
    } catch (err) {
      this.log.warn({ err, cache: this.name }, 'cache unavailable');
      return load();
    }
    const key = this.valueKey(scope, version, variant);
    const ahead = this.opts.refreshAheadMs;
    let cached: string | null = null;
    let remainingMs = -1;
    if (ahead) {
      const replies = await this.redis
        .pipeline()
        .get(key)
        .pttl(key)
        .exec()
        .catch(() => null);
      cached = (replies?.[0]?.[1] as string | null | undefined) ?? null;
      remainingMs = Number(replies?.[1]?.[1] ?? -1);
    } else cached = await this.redis.get(key).catch(() => null);
    if (cached !== null) {
      if (ahead && remainingMs >= 0 && remainingMs < ahead) this.refresh(key, load, ahead);
      return this.revive(cached);
    }
    return this.loadOnce(key, load);
  }

  /** Loads a value and stores it, sharing the load with everyone in this process asking meanwhile. */
  private loadOnce(key: string, load: () => Promise<T>): Promise<T> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = load().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
      pending.then(
        (value) => this.store([[key, value]]),
        () => undefined,
      );
    }
    return pending;
  }

  /**
   * Reloads a value near its end in the background; one process wins the refresh, the rest keep
   * answering the value meanwhile. Under the version the reader saw: a write since then gave the
   * scope a new version, so a refreshed value from before it is never read.
   */
  private refresh(key: string, load: () => Promise<T>, ahead: number): void {
    if (this.inFlight.has(key)) return;
    this.redis
      .set(`${key}:refreshing`, '1', 'PX', ahead, 'NX')
      .then((won) => (won ? this.loadOnce(key, load) : undefined))
      .catch((err: unknown) => this.log.warn({ err, cache: this.name }, 'refresh-ahead failed'));
  }

  /**
   * Values of many scopes in two Redis round trips; `load` gets the scopes that were not cached
   * and answers those it found (the others are not cached and are absent from the result).
   */
  async readMany(scopes: readonly string[], load: (missing: string[]) => Promise<Map<string, T>>): Promise<Map<string, T>> {
    const unique = [...new Set(scopes)];
    let keys: string[];
    let cached: Array<string | null>;
    try {
      const versions = await this.versions(unique);
      keys = unique.map((s, i) => this.valueKey(s, versions[i]!, ''));
      cached = await this.redis.mget(...keys);
    } catch (err) {
      this.log.warn({ err, cache: this.name }, 'cache unavailable');
      return load(unique);
    }
    const out = new Map<string, T>();
    const missing: string[] = [];
    unique.forEach((s, i) => (cached[i] !== null ? out.set(s, this.revive(cached[i]!)) : missing.push(s)));
    if (missing.length) {
      const loaded = await load(missing);
      const entries: Array<[string, T]> = [];
      for (const s of missing) {
        const value = loaded.get(s);
        if (value === undefined) continue;
        out.set(s, value);
        entries.push([keys[unique.indexOf(s)]!, value]);
      }
      await this.store(entries);
    }
    return out;
  }

  /** Call after any write that changes what a scope's values hold, before answering or publishing it. */
  async changed(...scopes: string[]): Promise<void> {
    if (!scopes.length) return;
    const multi = this.redis.multi();
    for (const s of scopes) multi.set(this.versionKey(s), randomUUID(), 'PX', VERSION_TTL_MS);
    await multi.exec();
  }

  private async versions(scopes: string[]): Promise<string[]> {
    const found = await this.redis.mget(...scopes.map((s) => this.versionKey(s)));
    const absent = scopes.filter((_, i) => found[i] === null);
    if (!absent.length) return found as string[];
    // none yet (or lost): start one per scope; whoever sets it first wins
    const multi = this.redis.multi();
    for (const s of absent) multi.set(this.versionKey(s), randomUUID(), 'PX', VERSION_TTL_MS, 'NX').get(this.versionKey(s));
    const replies = (await multi.exec()) ?? [];
    const started = new Map(absent.map((s, i) => [s, (replies[i * 2 + 1]?.[1] as string | null) ?? randomUUID()]));
    return scopes.map((s, i) => found[i] ?? started.get(s)!);
  }

  private async store(entries: Array<[string, T]>): Promise<void> {
    if (!entries.length) return;
    const multi = this.redis.multi();
    for (const [key, value] of entries) multi.set(key, JSON.stringify(value), 'PX', this.opts.ttlMs);
    await multi.exec().catch((err: unknown) => this.log.warn({ err, cache: this.name }, 'value not cached'));
  }

  private revive(json: string): T {
    const value = JSON.parse(json) as unknown;
    return this.opts.revive ? this.opts.revive(value) : (value as T);
  }

  private versionKey(scope: string): string {
    return `cache:${this.name}:${scope}:version`;
  }

  private valueKey(scope: string, version: string, variant: unknown): string {
    const shape =
      variant === '' ? '' : `:${createHash('sha256').update(JSON.stringify(variant)).digest('base64url').slice(0, 22)}`;
    return `cache:${this.name}:${scope}:${version}${shape}`;
  }
}

/** Turns the named ISO strings of a JSON object back into dates (in place). */
export function reviveDates<T extends object>(value: T, fields: readonly string[]): T {
  const record = value as Record<string, unknown>;
  for (const f of fields) if (typeof record[f] === 'string') record[f] = new Date(record[f]);
  return value;
}
