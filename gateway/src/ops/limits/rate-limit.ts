import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { OpsSettings } from '@tm/kit/contracts';
import type { Logger, Redis } from '@tm/kit/infra';

const WINDOW_SECONDS = 60;

export interface Refusal {
  retryAfterSeconds: number;
}

/**
 * Request limits in Redis (shared by every gateway process), with rate-limiter-flexible:
 * - per client (the user id when signed in, else `ip:<address>`): `requestsPerMinute` per
 *   60-second window that starts with the client's first request, plus `burst` extra requests per
 *   window taken only once the steady allowance is used up (its own counter);
 * - the emergency throttle: one counter for all traffic together.
 * Redis unreachable → fail open (logged): a limit must not take the API down with it.
 */
export class RateLimits {
  private readonly limiters = new Map<string, RateLimiterRedis>();

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  /** One limiter per (counter, allowance); the counters are keyed by counter only, so a new allowance applies to the running window. */
  private limiter(counter: 'client' | 'burst' | 'global', points: number): RateLimiterRedis {
    const key = `${counter}:${points}`;
    let l = this.limiters.get(key);
    if (!l) {
      // the ioredis client adds the deployment prefix itself
      l = new RateLimiterRedis({ storeClient: this.redis, keyPrefix: `ops:rl:${counter}`, points, duration: WINDOW_SECONDS });
      this.limiters.set(key, l);
    }
    return l;
  }

  /** The id a request is counted under. */
  static clientId(userId: string | null, ip: string | null | undefined): string {
    return userId ?? `ip:${ip ?? 'unknown'}`;
  }

  async consumeClient(clientId: string, s: OpsSettings): Promise<Refusal | null> {
    const { requestsPerMinute, burst } = s.rateLimit;
    if (requestsPerMinute <= 0) return null;
    try {
      await this.limiter('client', requestsPerMinute).consume(clientId);
      return null;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) return this.failOpen(err);
      if (burst <= 0) return refusal(err);
      try {
        await this.limiter('burst', burst).consume(clientId);
        return null;
      } catch (burstErr) {
        if (!(burstErr instanceof RateLimiterRes)) return this.failOpen(burstErr);
        return refusal(err.msBeforeNext < burstErr.msBeforeNext ? err : burstErr);
      }
    }
  }

  async consumeGlobal(s: OpsSettings): Promise<Refusal | null> {
    if (!s.emergencyThrottle.enabled) return null;
    try {
      await this.limiter('global', Math.max(1, s.emergencyThrottle.requestsPerMinute)).consume('all');
      return null;
    } catch (err) {
      return err instanceof RateLimiterRes ? refusal(err) : this.failOpen(err);
    }
  }

  /** Forgets a client's counters (a user id, an address, or `ip:<address>`). */
  async reset(clientId: string): Promise<boolean> {
    const ids = /^ip:/.test(clientId) ? [clientId] : [clientId, `ip:${clientId}`];
    const keys = ids.flatMap((id) => [`ops:rl:client:${id}`, `ops:rl:burst:${id}`]);
    return (await this.redis.del(...keys)) > 0;
  }

  /** Restarts the global window (when the throttle is switched off or changed). */
  async resetGlobal(): Promise<void> {
    await this.redis.del('ops:rl:global:all');
  }

  private failOpen(err: unknown): null {
    this.log.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'rate limit not checked (Redis unavailable); request let through',
    );
    return null;
  }
}

function refusal(res: RateLimiterRes): Refusal {
  return { retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
}
