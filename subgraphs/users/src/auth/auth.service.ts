import { AppError, ErrorCode } from '@tm/kit/contracts';
import type { MfaService } from '../mfa/mfa.service';
import { UserStatus, type User } from '../user/user.model';
import { ALREADY_REGISTERED, type NewUser, type UserService } from '../user/user.service';
import type { AuthMetrics } from './auth.metrics';
import type { KeyRing } from './keyring.service';
import type { LoginGuard } from './login-guard.service';
import type { RegisterGuard } from './register-guard.service';
import type { SessionService } from './session.service';
import type { StepTokens } from './step-token.service';
import { MFA_STEP } from './token.kinds';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  user: User;
}

export interface Credentials {
  email: string;
  password: string;
  mfaCode?: string | null | undefined;
}

/** Sign-up, sign-in (with brute-force limits and MFA), refresh and sign-out: sessions plus access tokens. */
export class AuthService {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly keys: KeyRing,
    private readonly guard: LoginGuard,
    private readonly mfa: MfaService,
    private readonly stepTokens: StepTokens,
    private readonly registrations: RegisterGuard,
    private readonly metrics?: AuthMetrics,
    /** Every registration that gets past the limits answers no sooner than this (new account or taken email alike). */
    private readonly registerMinMs = 0,
  ) {}

  /**
   * Creates an account and signs it in. A taken email is `API-002` on `email` (the answer has to
   * say so), which is why every attempt is first taken from the per-address and per-email
   * budgets (`API-001` once used up), and why both outcomes do the same work (the password is
   * hashed either way) and answer no sooner than `registerMinMs` after the request came in.
   */
  async register(input: NewUser, clientIp: string | null = null): Promise<Tokens> {
    const started = Date.now();
    try {
      await this.registrations.attempt(input.email, clientIp);
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.RateLimited) this.metrics?.registrations.inc({ outcome: 'limited' });
      throw err;
    }
    try {
      const user = await this.users.register(input);
      const tokens = await this.issue(user, await this.sessions.start(user._id, user.tokenVersion ?? 0));
      this.metrics?.registrations.inc({ outcome: 'created' });
      return tokens;
    } catch (err) {
      const duplicate =
        err instanceof AppError && err.code === ErrorCode.InvalidRequest && err.message.endsWith(ALREADY_REGISTERED);
      this.metrics?.registrations.inc({ outcome: duplicate ? 'duplicate' : 'error' });
      throw err;
    } finally {
      const rest = started + this.registerMinMs - Date.now();
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
  }

  /**
   * In order: one attempt taken from the brute-force limits (before anything about the account
   * is looked at; refused once used up), the password (`AUTH-001`, one message for every cause,
   * same cost for unknown emails), then — only for the right password — a forced reset
   * (`AUTH-001` saying so), MFA (`AUTH-003` without a code, `AUTH-001` with a wrong one) or owed
   * MFA enrollment (`AUTH-003` with an MFA-step token). A wrong password or code keeps the attempt
   * counted; anything else gives it back.
   */
  async login(creds: Credentials, clientIp: string | null): Promise<Tokens> {
    const attempt = await this.guard.attempt(creds.email, clientIp);
    let failed = false;
    try {
      let user: User;
      try {
        user = await this.users.authenticate(creds.email, creds.password);
      } catch (err) {
        failed = err instanceof AppError && err.code === ErrorCode.AuthFailed;
        throw err;
      }
      if (user.mustResetPassword) {
        throw new AppError(ErrorCode.AuthFailed, 'Password reset required: use requestPasswordReset to set a new password');
      }
      if (user.mfaEnabled) {
        if (!creds.mfaCode) throw new AppError(ErrorCode.MfaRequired, 'MFA code required');
        if (!(await this.mfa.verifyLogin(user, creds.mfaCode))) {
          failed = true;
          throw new AppError(ErrorCode.AuthFailed, 'Invalid MFA code');
        }
      } else if (await this.mfa.mustEnroll(user)) {
        const mfaToken = await this.stepTokens.sign(
          'mfa',
          { userId: user._id, tokenVersion: user.tokenVersion ?? 0 },
          MFA_STEP.ttlSeconds,
        );
        throw new AppError(
          ErrorCode.MfaRequired,
          'MFA enrollment required: call startMfaEnrollment and confirmMfaEnrollment with the mfaToken of this error, then sign in with a code',
          { mfaEnrollmentRequired: true, mfaToken },
        );
      }
      await attempt.succeeded();
      this.metrics?.loginAttempts.inc({ outcome: 'succeeded' });
      // never lowers the version in Redis (a revocation racing this sign-in wins); the session
      // is bound to the version read, so a revocation between the read and now ends it too
      await this.users.publishTokenVersion(user);
      return await this.issue(user, await this.sessions.start(user._id, user.tokenVersion ?? 0));
    } catch (err) {
      if (failed) {
        this.metrics?.loginAttempts.inc({ outcome: 'failed' });
      } else {
        await attempt.refund();
        if (err instanceof AppError && (err.code === ErrorCode.AuthFailed || err.code === ErrorCode.MfaRequired)) {
          this.metrics?.loginAttempts.inc({ outcome: 'other' });
        }
      }
      throw err;
    }
  }

  async refresh(refreshToken: string): Promise<Tokens> {
    const rotated = await this.sessions.rotate(refreshToken);
    const user = await this.users.findById(rotated.userId);
    if (!user || user.status !== UserStatus.ACTIVE || user.mustResetPassword) {
      await this.sessions.revoke(rotated.sessionId, 'user not active');
      throw new AppError(ErrorCode.TokenInvalid, 'Refresh token invalid or expired');
    }
    if (rotated.tokenVersion !== undefined && rotated.tokenVersion !== (user.tokenVersion ?? 0)) {
      // the user's tokens were revoked after this session began (also by a revocation that raced
      // the sign-in that started it): the session is over
      await this.sessions.revoke(rotated.sessionId, 'token version changed');
      throw new AppError(ErrorCode.TokenInvalid, 'Refresh token invalid or expired');
    }
    if (await this.mfa.mustEnroll(user)) {
      // MFA became mandatory for this user: no new access tokens until they enroll
      await this.sessions.revoke(rotated.sessionId, 'mfa enrollment required');
      throw new AppError(ErrorCode.MfaRequired, 'MFA enrollment required: sign in again to enroll');
    }
    await this.users.publishTokenVersion(user); // brings the version back should Redis have lost it
    return this.issue(user, rotated);
  }

  logout(refreshToken: string, userId: string | null): Promise<boolean> {
    return this.sessions.end(refreshToken, userId);
  }

  /**
   * The user an MFA enrollment is for: the signed-in caller, or the holder of a valid MFA-step
   * token (password already checked, enrollment owed). Neither: `AUTH-001`.
   */
  async enrollingUser(signedInUserId: string | null, mfaToken: string | null | undefined): Promise<string> {
    if (signedInUserId) return signedInUserId;
    if (mfaToken) {
      const claims = await this.stepTokens.verify('mfa', mfaToken);
      const user = claims ? await this.users.findById(claims.userId) : null;
      if (user && claims && user.status === UserStatus.ACTIVE && (user.tokenVersion ?? 0) === claims.tokenVersion)
        return user._id;
      throw new AppError(ErrorCode.TokenInvalid, 'MFA token invalid or expired');
    }
    throw new AppError(ErrorCode.AuthFailed, 'Authentication required');
  }

  private async issue(user: User, session: { sessionId: string; refreshToken: string }): Promise<Tokens> {
    const { token, expiresAt } = await this.keys.signAccessToken({
      userId: user._id,
      roles: user.roles,
      sessionId: session.sessionId,
      tokenVersion: user.tokenVersion ?? 0,
    });
    return { accessToken: token, refreshToken: session.refreshToken, expiresAt, user };
  }
}
