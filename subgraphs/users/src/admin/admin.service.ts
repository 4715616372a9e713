import {
  AppError,
  type Connection,
  decodeCursor,
  encodeCursor,
  ErrorCode,
  forwardPage,
  invalidInput,
  pageSize,
} from '@tm/kit/contracts';
import { SecretBox } from '@tm/kit/infra';
import type { KeyRing } from '../auth/keyring.service';
import type { SessionService } from '../auth/session.service';
import { SigningKeyModel } from '../auth/signing-key.model';
import type { MfaService } from '../mfa/mfa.service';
import { isActiveAdmin } from '../user/active-admins.service';
import { Role, UserModel, UserStatus, type User } from '../user/user.model';
import type { UserService } from '../user/user.service';

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What admins do to users (each call is audited by the resolver). Plain TypeScript. */
export class AdminService {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly mfa: MfaService,
    private readonly keys: KeyRing,
    private readonly box: SecretBox,
  ) {}

  /**
   * Locks accounts: sign-in refused, every token revoked at once. Never the caller, never the last
   * active admin: the active admins among them are taken from the count of active admins at once
   * (UserService.admins), so a batch that would lock them all is refused before anything is written.
   */
  async lock(actorId: string, userIds: string[], reason: string | null): Promise<User[]> {
    const ids = await this.existing(userIds);
    if (ids.includes(actorId)) throw invalidInput('userIds', 'you cannot lock yourself');
    const refuse = () => invalidInput('userIds', 'would lock every active administrator');
    const set = { status: UserStatus.LOCKED, lockedReason: reason ?? null, lockedAt: new Date() };
    const states = await UserModel.find({ _id: { $in: ids } }, { roles: 1, status: 1 }).lean<
      Array<Pick<User, '_id' | 'roles' | 'status'>>
    >();
    const admins = new Set(states.filter(isActiveAdmin).map((u) => u._id));
    if (!(await this.users.admins.take(admins.size))) throw refuse();
    let reserved = admins.size;
    const out: User[] = [];
    try {
      for (const id of ids) {
        let user: User | null = null;
        if (admins.has(id)) {
          // taken from the count above: written only while still an active admin
          user = await this.users.bumpTokenVersion(id, set, {}, { status: UserStatus.ACTIVE, roles: Role.ADMIN });
          if (user) reserved--;
        }
        user ??= await this.users.admins.change(
          id,
          { status: UserStatus.LOCKED },
          (filter) => this.users.bumpTokenVersion(id, set, {}, filter),
          refuse,
        );
        await this.sessions.revokeAll(id, 'locked by admin');
        if (user) out.push(user);
      }
    } finally {
      await this.users.admins.give(reserved); // those not locked by the reserved write
    }
    return out;
  }

  async unlock(userIds: string[]): Promise<User[]> {
    const ids = await this.existing(userIds);
    for (const id of ids) {
      await this.users.admins.change(
        id,
        { status: UserStatus.ACTIVE },
        (filter) =>
          UserModel.findOneAndUpdate(
            { ...filter, _id: id },
            { $set: { status: UserStatus.ACTIVE }, $unset: { lockedReason: '', lockedAt: '' } },
            { returnDocument: 'after' },
          ).lean<User>(),
        () => new Error('cannot happen: an unlock ends no active admin'),
      );
    }
    return this.users.findByIds(ids);
  }

  /** Marks users as having to reset their password (sign-in refused until then) and signs them out. Returns how many. */
  async forcePasswordReset(userIds: string[]): Promise<number> {
    const ids = await this.existing(userIds, false);
    for (const id of ids) {
      await this.users.bumpTokenVersion(id, { mustResetPassword: true });
      await this.sessions.revokeAll(id, 'password reset forced');
    }
    return ids.length;
  }

  /**
   * Replaces a user's roles. Their access tokens are revoked (they carry roles) and their sessions
   * end, so they sign in again with the new ones. Removing the last active ADMIN is API-002.
   */
  async setRoles(userId: string, roles: Role[]): Promise<User> {
    const unique = [...new Set(roles)];
    if (unique.length === 0) throw invalidInput('roles', 'at least one role');
    const [id] = await this.existing([userId]);
    const user = await this.users.admins.change(
      id!,
      { roles: unique },
      (filter) => this.users.bumpTokenVersion(id!, { roles: unique }, {}, filter),
      () => invalidInput('roles', 'cannot remove the last active ADMIN'),
    );
    if (!user) throw new AppError(ErrorCode.NotFound, 'User not found');
    await this.sessions.revokeAll(id!, 'roles changed by admin');
    return user;
  }

  /** Revokes every access and refresh token of the user at once. */
  async invalidateTokens(userId: string): Promise<boolean> {
    const [id] = await this.existing([userId]);
    await this.users.bumpTokenVersion(id!);
    await this.sessions.revokeAll(id!, 'tokens invalidated by admin');
    return true;
  }

  async rotateSigningKeys(): Promise<boolean> {
    await this.keys.rotate();
    return true;
  }

  /** Turns MFA off (lost device, verified out of band); a role policy may still make the next sign-in enroll. */
  async disableMfa(userId: string): Promise<User> {
    const [id] = await this.existing([userId]);
    return (await this.mfa.clear(id!, false))!;
  }

  /** Removes MFA and signs the user out: the next sign-in must enroll a new authenticator. */
  async resetMfa(userId: string): Promise<User> {
    const [id] = await this.existing([userId]);
    await this.mfa.clear(id!, true);
    await this.sessions.revokeAll(id!, 'mfa reset by admin');
    return (await this.users.bumpTokenVersion(id!))!;
  }

  enforceMfaForRoles(roles: Role[], actorId: string): Promise<number> {
    return this.mfa.enforceForRoles(roles, actorId);
  }

  /** Every user, oldest first (createdAt, then id); `search` matches the start of name or email, any case. */
  async list(
    search: string | null | undefined,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<Connection<User>> {
    const limit = pageSize(first);
    const term = search?.trim();
    const filter: Record<string, unknown> = term
      ? {
          $or: [
            { email: { $regex: `^${escapeRegex(term.toLowerCase())}` } },
            { name: { $regex: `^${escapeRegex(term)}`, $options: 'i' } },
          ],
        }
      : {};
    let page: Record<string, unknown> = filter;
    if (after) {
      const [at, id] = decodeCursor(after, 2) as [unknown, unknown];
      const date = typeof at === 'string' ? new Date(at) : null;
      if (!date || Number.isNaN(date.getTime()) || typeof id !== 'string')
        throw new AppError(ErrorCode.InvalidRequest, 'Invalid cursor', { field: 'after' });
      const afterCursor = { $or: [{ createdAt: { $gt: date } }, { createdAt: date, _id: { $gt: id } }] };
      page = term ? { $and: [filter, afterCursor] } : afterCursor;
    }
    const [rows, total] = await Promise.all([
      limit === 0
        ? []
        : UserModel.find(page)
            .sort({ createdAt: 1, _id: 1 })
            .limit(limit + 1)
            .lean<User[]>(),
      UserModel.countDocuments(filter),
    ]);
    return forwardPage(rows, limit, (u) => encodeCursor([u.createdAt.toISOString(), u._id]), total, Boolean(after));
  }

  /** Keys configured, sealed values per key id (counted over every sealed field), and a round-trip self-test. */
  async encryptionStatus(): Promise<{
    activeKeyId: string;
    keyIds: string[];
    recordsByKey: Array<{ keyId: string; count: number }>;
    selfTestPassed: boolean;
  }> {
    const counts = new Map<string, number>();
    const add = (sealed: string | null | undefined) => {
      if (!sealed) return;
      const kid = SecretBox.keyIdOf(sealed) ?? '(unencrypted)';
      counts.set(kid, (counts.get(kid) ?? 0) + 1);
    };
    const users = UserModel.find(
      { $or: [{ mfaSecret: { $exists: true } }, { mfaPendingSecret: { $exists: true } }] },
      { mfaSecret: 1, mfaPendingSecret: 1 },
    )
      .lean<Array<Pick<User, 'mfaSecret' | 'mfaPendingSecret'>>>()
      .cursor();
    for await (const u of users) {
      add(u.mfaSecret);
      add(u.mfaPendingSecret);
    }
    for (const k of await SigningKeyModel.find({}, { privateJwk: 1 }).lean<Array<{ privateJwk: string }>>()) add(k.privateJwk);
    return {
      activeKeyId: this.box.activeKeyId,
      keyIds: this.box.keyIds,
      recordsByKey: [...counts].map(([keyId, count]) => ({ keyId, count })).sort((a, b) => a.keyId.localeCompare(b.keyId)),
      selfTestPassed: this.box.selfTest(),
    };
  }

  /** The ids that exist (in the order given, deduplicated); with `strict`, an unknown one is PERM-002. */
  private async existing(userIds: string[], strict = true): Promise<string[]> {
    const ids = [...new Set(userIds)];
    if (ids.length === 0) throw invalidInput('userIds', 'at least one id');
    if (ids.length > 100) throw invalidInput('userIds', 'at most 100 ids');
    const found = new Set(
      (await UserModel.find({ _id: { $in: ids } }, { _id: 1 }).lean<Array<{ _id: string }>>()).map((u) => u._id),
    );
    if (strict && found.size !== ids.length) throw new AppError(ErrorCode.NotFound, 'User not found');
    return ids.filter((id) => found.has(id));
  }
}
