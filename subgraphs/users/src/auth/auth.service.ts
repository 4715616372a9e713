import { AppError, ErrorCode } from '@tm/kit';
import type { MfaService } from '../mfa/mfa.service';
import { UserStatus, type User } from '../user/user.model';
import type { NewUser, UserService } from '../user/user.service';
import type { KeyRing } from './keyring.service';
import type { LoginGuard } from './login-guard.service';
import type { SessionService } from './session.service';
import type { StepTokens } from './step-token.service';
import { MFA_STEP } from './token-types';

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
  ) {}

  async register(input: NewUser): Promise<Tokens> {
    const user = await this.users.register(input);
    return this.issue(user, await this.sessions.start(user._id));
  }

  /**
   * In order: the brute-force limits (before anything about the account is looked at), the
   * password (`AUTH-001`, one message for every cause, same cost for unknown emails), then —
   * only for the right password — a forced reset (`AUTH-001` saying so), MFA (`AUTH-003` without
   * a code, `AUTH-001` with a wrong one) or owed MFA enrollment (`AUTH-003` with an MFA-step token).
   */
  async login(creds: Credentials, clientIp: string | null): Promise<Tokens> {
    await this.guard.check(creds.email, clientIp);
    let user: User;
    try {
      user = await this.users.authenticate(creds.email, creds.password);
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.AuthFailed) await this.guard.fail(creds.email, clientIp);
      throw err;
    }
    if (user.mustResetPassword) {
      throw new AppError(ErrorCode.AuthFailed, 'Password reset required: use requestPasswordReset to set a new password');
    }
    if (user.mfaEnabled) {
      if (!creds.mfaCode) throw new AppError(ErrorCode.MfaRequired, 'MFA code required');
      if (!(await this.mfa.verifyLogin(user, creds.mfaCode))) {
        await this.guard.fail(creds.email, clientIp);
        throw new AppError(ErrorCode.AuthFailed, 'Invalid MFA code');
      }
    } else if (await this.mfa.mustEnroll(user)) {
      const mfaToken = await this.stepTokens.sign('mfa', { userId: user._id, tokenVersion: user.tokenVersion ?? 0 }, MFA_STEP.ttlSeconds);
      throw new AppError(
        ErrorCode.MfaRequired,
        'MFA enrollment required: call startMfaEnrollment and confirmMfaEnrollment with the mfaToken of this error, then sign in with a code',
        { mfaEnrollmentRequired: true, mfaToken },
      );
    }
    await this.guard.succeed(creds.email);
    await this.users.publishTokenVersion(user);
    return this.issue(user, await this.sessions.start(user._id));
  }

  async refresh(refreshToken: string): Promise<Tokens> {
    const rotated = await this.sessions.rotate(refreshToken);
    const user = await this.users.findById(rotated.userId);
    if (!user || user.status !== UserStatus.ACTIVE || user.mustResetPassword) {
      await this.sessions.revoke(rotated.sessionId, 'user not active');
      throw new AppError(ErrorCode.TokenInvalid, 'Refresh token invalid or expired');
    }
    if (await this.mfa.mustEnroll(user)) {
      // MFA became mandatory for this user: no new access tokens until they enroll
      await this.sessions.revoke(rotated.sessionId, 'mfa enrollment required');
      throw new AppError(ErrorCode.MfaRequired, 'MFA enrollment required: sign in again to enroll');
    }
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
      if (user && claims && user.status === UserStatus.ACTIVE && (user.tokenVersion ?? 0) === claims.tokenVersion) return user._id;
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
