import { AppError, ErrorCode } from '@tm/kit';
import { UserStatus, type User } from '../user/user.model';
import type { NewUser, UserService } from '../user/user.service';
import type { KeyRing } from './keyring.service';
import type { SessionService } from './session.service';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  user: User;
}

/** Sign-up, sign-in, refresh and sign-out: sessions plus access tokens. */
export class AuthService {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly keys: KeyRing,
  ) {}

  async register(input: NewUser): Promise<Tokens> {
    const user = await this.users.register(input);
    return this.issue(user, (await this.sessions.start(user._id)));
  }

  async login(email: string, password: string): Promise<Tokens> {
    const user = await this.users.authenticate(email, password);
    await this.users.publishTokenVersion(user);
    return this.issue(user, await this.sessions.start(user._id));
  }

  async refresh(refreshToken: string): Promise<Tokens> {
    const rotated = await this.sessions.rotate(refreshToken);
    const user = await this.users.findById(rotated.userId);
    if (!user || user.status !== UserStatus.ACTIVE) {
      await this.sessions.revoke(rotated.sessionId, 'user not active');
      throw new AppError(ErrorCode.TokenInvalid, 'Refresh token invalid or expired');
    }
    return this.issue(user, rotated);
  }

  logout(refreshToken: string, userId: string | null): Promise<boolean> {
    return this.sessions.end(refreshToken, userId);
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
