import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, ErrorCode } from '@tm/kit/contracts';
import { type Redis } from '@tm/kit/infra';
import { accountKey } from './login-guard.service';

export interface RegisterGuardOptions {
  maxPerIp: number;
  maxPerEmail: number;
  windowSeconds: number;
}

/**
 * Limits sign-ups (Redis, shared by every users process): `register` has to say when an email is
 * already taken, so every attempt, whatever its outcome, is taken from a small budget per client
 * address and per email (hashed, like the sign-in counts) before anything is looked at. Used up:
 * `API-001` with `retryAfter` seconds. Keeps an email list from being checked in bulk.
 */
export class RegisterGuard {
  private readonly byIp: RateLimiterRedis;
  private readonly byEmail: RateLimiterRedis;

  constructor(redis: Redis, opts: RegisterGuardOptions) {
    const common = { storeClient: redis, duration: opts.windowSeconds, rejectIfRedisNotReady: true };
    this.byIp = new RateLimiterRedis({ ...common, keyPrefix: 'auth:register:ip', points: opts.maxPerIp });
    this.byEmail = new RateLimiterRedis({ ...common, keyPrefix: 'auth:register:email', points: opts.maxPerEmail });
  }

  /** Takes one registration from the address's and the email's budgets, or refuses (API-001 + retryAfter). */
  async attempt(email: string, clientIp: string | null | undefined): Promise<void> {
    try {
      if (clientIp) await this.byIp.consume(clientIp, 1);
      await this.byEmail.consume(accountKey(email), 1);
    } catch (res) {
      if (res instanceof RateLimiterRes) {
        const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
        throw new AppError(ErrorCode.RateLimited, `Too many registrations; try again in ${retryAfter} s`, { retryAfter });
      }
      throw new AppError(ErrorCode.DatabaseUnavailable, 'Database unavailable, try again shortly');
    }
  }
}
