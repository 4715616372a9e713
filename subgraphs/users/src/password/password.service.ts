import { createHash, randomBytes } from 'node:crypto';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { AppError, ErrorCode, invalidInput } from '@tm/kit/contracts';
import { type EventPublisher, type Logger, type Redis, type SecretBox } from '@tm/kit/infra';
import type { LoginGuard } from '../auth/login-guard.service';
import { accountKey } from '../auth/login-guard.service';
import type { SessionService } from '../auth/session.service';
import type { StepTokens } from '../auth/step-token.service';
import { UserEvents, type PasswordResetRequestedPayload } from '../user/user.events';
import { UserStatus } from '../user/user.model';
import type { UserService } from '../user/user.service';
import { PasswordResetModel } from './password-reset.model';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function resetInvalid(): AppError {
  return new AppError(ErrorCode.TokenInvalid, 'Reset token invalid, used or expired');
}

/** Password reset by email link, and password change by the signed-in user. */
export class PasswordService {
  /** At most 3 reset emails per account per 15 minutes (silently: the answer is always true). */
  private readonly requests: RateLimiterRedis;

  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly tokens: StepTokens,
    private readonly guard: LoginGuard,
    private readonly events: EventPublisher,
    private readonly box: SecretBox,
    private readonly log: Logger,
    redis: Redis,
    private readonly resetTtlMinutes: number,
  ) {
    this.requests = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: 'auth:reset-request',
      points: 3,
      duration: 900,
      rejectIfRedisNotReady: true,
    });
  }

  /**
   * Always resolves true at once: the work (look-up, token, event) runs after the answer, so
   * neither the answer nor its timing says whether the email is registered.
   */
  request(email: string, meta: { correlationId: string }): true {
    void this.issue(email, meta).catch((err: unknown) => this.log.error({ err }, 'password reset request failed'));
    return true;
  }

  private async issue(email: string, meta: { correlationId: string }): Promise<void> {
    try {
      await this.requests.consume(accountKey(email));
    } catch {
      return; // over the limit (or Redis down): no email this time
    }
    const user = await this.users.findByEmail(email);
    if (!user || user.status !== UserStatus.ACTIVE) return;
    const jti = randomBytes(32).toString('base64url');
    const ttlSeconds = this.resetTtlMinutes * 60;
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    const token = await this.tokens.sign('reset', { userId: user._id, tokenVersion: user.tokenVersion ?? 0, jti }, ttlSeconds);
    await PasswordResetModel.create({ _id: sha256(jti), userId: user._id, expiresAt, usedAt: null });
    const payload: PasswordResetRequestedPayload = {
      userId: user._id,
      resetTokenEncrypted: this.box.encrypt(token),
      emailEncrypted: this.box.encrypt(user.email),
      expiresAt: expiresAt.toISOString(),
    };
    await this.events.publish(UserEvents.PasswordResetRequested, payload, { actorId: null, correlationId: meta.correlationId });
    this.log.info({ userId: user._id }, 'password reset issued');
  }

  /** Consumes the token (once), sets the new password, ends every session and access token. */
  async reset(token: string, newPassword: string): Promise<true> {
    const claims = await this.tokens.verify('reset', token);
    if (!claims) throw resetInvalid();
    const now = new Date();
    const id = sha256(claims.jti);
    // single use: a compare-and-set on `usedAt`, so of concurrent uses exactly one gets through
    const used = await PasswordResetModel.findOneAndUpdate(
      { _id: id, userId: claims.userId, usedAt: null, expiresAt: { $gt: now } },
      { $set: { usedAt: now } },
    ).lean();
    if (!used) throw resetInvalid();
    const user = await this.users.findById(claims.userId);
    // a newer token version (another reset, a lock, a forced reset…) voids links issued before it
    if (!user || user.status !== UserStatus.ACTIVE || (user.tokenVersion ?? 0) !== claims.tokenVersion) throw resetInvalid();
    await this.users.setPassword(user._id, newPassword, { mustResetPassword: false });
    await this.users.bumpTokenVersion(user._id);
    await this.sessions.revokeAll(user._id, 'password reset');
    await this.guard.clear(user.email);
    this.log.info({ userId: user._id }, 'password reset completed');
    return true;
  }

  /**
   * Changes the signed-in user's password: every OTHER session ends at once (their refresh tokens
   * and access tokens); the caller's session and access token stay valid. Wrong current password:
   * `AUTH-001`, counted like a failed sign-in.
   */
  async change(
    who: { userId: string; sessionId: string | null; clientIp: string | null },
    currentPassword: string,
    newPassword: string,
  ): Promise<true> {
    const user = await this.users.findById(who.userId);
    if (!user || user.status !== UserStatus.ACTIVE) throw new AppError(ErrorCode.AuthFailed, 'Authentication required');
    const attempt = await this.guard.attempt(user.email, who.clientIp);
    if (!(await this.users.verifyPassword(user, currentPassword))) {
      throw new AppError(ErrorCode.AuthFailed, 'Current password is incorrect', { field: 'currentPassword' });
    }
    await attempt.refund(); // the right password is not a failure
    if (currentPassword === newPassword) throw invalidInput('newPassword', 'must differ from the current password');
    await this.users.setPassword(user._id, newPassword, { mustResetPassword: false });
    const ended = await this.sessions.revokeAll(user._id, 'password changed', who.sessionId);
    this.log.info({ userId: user._id, endedSessions: ended }, 'password changed');
    return true;
  }
}
