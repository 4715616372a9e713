import { createHash } from 'node:crypto';
import { RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, ErrorCode, type Redis } from '@tm/kit';

export interface LoginGuardOptions {
  maxPerAccount: number;
  maxPerIp: number;
  windowSeconds: number;
}

/** The account key: a hash of the normalised email, so unknown emails are counted exactly like known ones. */
export const accountKey = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32);

function storeDown(): AppError {
  return new AppError(ErrorCode.DatabaseUnavailable, 'Database unavailable, try again shortly');
}

/**
 * Brute-force protection (Redis, shared by every users process): failed sign-ins are counted
 * per account and per client address in a fixed window. Once either count reaches its limit,
 * attempts are refused before any password is checked (so the answer and its timing are the
 * same whether the account exists), with `AUTH-001` and `retryAfter` seconds.
 */
export class LoginGuard {
  private readonly byAccount: RateLimiterRedis;
  private readonly byIp: RateLimiterRedis;

  constructor(redis: Redis, opts: LoginGuardOptions) {
    // keys live under the client's REDIS_PREFIX (ioredis adds it): <prefix>auth:login-fail:…
    const common = { storeClient: redis, duration: opts.windowSeconds, rejectIfRedisNotReady: true };
    this.byAccount = new RateLimiterRedis({ ...common, keyPrefix: 'auth:login-fail:account', points: opts.maxPerAccount });
    this.byIp = new RateLimiterRedis({ ...common, keyPrefix: 'auth:login-fail:ip', points: opts.maxPerIp });
  }

  /** Refuses (AUTH-001 + retryAfter) when the account or the address has used up its failures. */
  async check(email: string, clientIp: string | null | undefined): Promise<void> {
    let results: Array<RateLimiterRes | null>;
    try {
      results = await Promise.all([this.byAccount.get(accountKey(email)), clientIp ? this.byIp.get(clientIp) : null]);
    } catch {
      throw storeDown();
    }
    const limits = [this.byAccount.points, this.byIp.points];
    const blocked = results
      .map((r, i) => (r && r.consumedPoints >= limits[i]! ? r.msBeforeNext : 0))
      .reduce((a, b) => Math.max(a, b), 0);
    if (blocked > 0) {
      const retryAfter = Math.max(1, Math.ceil(blocked / 1000));
      throw new AppError(ErrorCode.AuthFailed, `Too many failed sign-in attempts; try again in ${retryAfter} s`, { retryAfter });
    }
  }

  /** Counts one failure against the account and the address. */
  async fail(email: string, clientIp: string | null | undefined): Promise<void> {
    try {
      await Promise.all([this.byAccount.penalty(accountKey(email), 1), clientIp ? this.byIp.penalty(clientIp, 1) : null]);
    } catch {
      throw storeDown();
    }
  }

  /** A successful sign-in clears the account's count (never the address's: one valid account must not reset it). */
  async succeed(email: string): Promise<void> {
    await this.byAccount.delete(accountKey(email)).catch(() => undefined);
  }
}
