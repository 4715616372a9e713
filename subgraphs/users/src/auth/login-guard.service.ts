import { createHash } from 'node:crypto';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, ErrorCode } from '@tm/kit/contracts';
import { type Redis } from '@tm/kit/infra';
import type { AuthMetrics } from './auth.metrics';

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

function tooMany(msBeforeNext: number): AppError {
  const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new AppError(ErrorCode.AuthFailed, `Too many failed sign-in attempts; try again in ${retryAfter} s`, { retryAfter });
}

/**
 * One attempt taken from the limits. An attempt is a failure unless the caller says otherwise:
 * `succeeded` (right credentials: the account's count starts over, the address gets its point
 * back) or `refund` (not a guess at a secret, e.g. the right password with an MFA code still owed).
 */
export interface LoginAttempt {
  succeeded(): Promise<void>;
  refund(): Promise<void>;
}

/**
 * Brute-force protection (Redis, shared by every users process): sign-in attempts are counted
 * per account and per client address in a fixed window. Each attempt is taken from both counts
 * atomically BEFORE any password or MFA code is checked (an INCR in Redis, rate-limiter-flexible
 * `consume`), so of any number of concurrent guesses at most the limit reach the check; an
 * attempt that turns out right is given back. Once a count is used up, attempts are refused
 * before anything about the account is looked at (the same answer and timing whether it exists),
 * with `AUTH-001` and `retryAfter` seconds.
 */
export class LoginGuard {
  private readonly byAccount: RateLimiterRedis;
  private readonly byIp: RateLimiterRedis;

  constructor(
    redis: Redis,
    opts: LoginGuardOptions,
    private readonly metrics?: AuthMetrics,
  ) {
    // keys live under the client's REDIS_PREFIX (ioredis adds it): <prefix>auth:login-fail:…
    const common = { storeClient: redis, duration: opts.windowSeconds, rejectIfRedisNotReady: true };
    this.byAccount = new RateLimiterRedis({ ...common, keyPrefix: 'auth:login-fail:account', points: opts.maxPerAccount });
    this.byIp = new RateLimiterRedis({ ...common, keyPrefix: 'auth:login-fail:ip', points: opts.maxPerIp });
  }

  /**
   * Takes one attempt from the account's and the address's counts, or refuses (AUTH-001 +
   * retryAfter) when either is used up. The account is counted first: an attempt refused for
   * the account does not use up the address's count, and one refused for the address gives the
   * account's point back.
   */
  async attempt(email: string, clientIp: string | null | undefined): Promise<LoginAttempt> {
    const account = accountKey(email);
    await this.take(this.byAccount, account);
    if (clientIp) {
      try {
        await this.take(this.byIp, clientIp);
      } catch (err) {
        await this.byAccount.reward(account, 1).catch(() => undefined);
        throw err;
      }
    }
    let settled = false;
    const once = async (fn: () => Promise<unknown>) => {
      if (settled) return;
      settled = true;
      await fn().catch(() => undefined);
    };
    return {
      succeeded: () => once(() => Promise.all([this.byAccount.delete(account), clientIp ? this.byIp.reward(clientIp, 1) : null])),
      refund: () => once(() => Promise.all([this.byAccount.reward(account, 1), clientIp ? this.byIp.reward(clientIp, 1) : null])),
    };
  }

  /** A successful password reset clears the account's count (never the address's: one valid account must not reset it). */
  async clear(email: string): Promise<void> {
    await this.byAccount.delete(accountKey(email)).catch(() => undefined);
  }

  private async take(limiter: RateLimiterRedis, key: string): Promise<void> {
    try {
      await limiter.consume(key, 1);
    } catch (res) {
      if (res instanceof RateLimiterRes) {
        this.metrics?.loginAttempts.inc({ outcome: 'limited' });
        throw tooMany(res.msBeforeNext);
      }
      throw storeDown();
    }
  }
}
