import { randomUUID } from 'node:crypto';
import { AppError, ErrorCode } from './errors';
import type { Redis } from './redis';

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Short Redis locks around read-decide-write sequences on one document.
 *
 * Why: the test store (FerretDB 1.24, SQLite) does not apply a conditional single-document update
 * atomically under concurrency (measured: two `updateOne({_id, version: 1}, …)` both matched), so
 * compare-and-set on `version` alone would let two writers win. MongoDB itself is atomic here;
 * the lock costs two Redis round trips and keeps both stores correct.
 */
export class Locks {
  constructor(private readonly redis: Redis) {}

  async with<T>(name: string, fn: () => Promise<T>, opts: { ttlMs?: number; waitMs?: number } = {}): Promise<T> {
    const key = `lock:${name}`;
    const token = randomUUID();
    const ttl = opts.ttlMs ?? 5000;
    const deadline = Date.now() + (opts.waitMs ?? 3000);
    for (let attempt = 1; ; attempt++) {
      if ((await this.redis.set(key, token, 'PX', ttl, 'NX')) === 'OK') break;
      if (Date.now() > deadline) throw new AppError(ErrorCode.ServiceUnavailable, 'The item is busy, try again');
      await new Promise((r) => setTimeout(r, Math.min(attempt * 5, 50) + Math.random() * 10));
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    }
  }
}
