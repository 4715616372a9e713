import argon2 from 'argon2';
import { AppError, ErrorCode, invalidInput } from '@tm/kit/contracts';
import { type Redis, RedisKeys } from '@tm/kit/infra';
import { ActiveAdmins, isActiveAdmin, type UserFilter } from './active-admins.service';
import { Role, User, UserModel, UserStatus } from './user.model';

export interface NewUser {
  email: string;
  name: string;
  password: string;
}

/** The `register` refusal for a taken email (API-002 on `email`); counted apart in the metrics. */
export const ALREADY_REGISTERED = 'already registered';

/**
 * Sets the token version in Redis only when it is higher than the one there (never back: a
 * sign-in that read the user before a revocation must not undo it). 0: not written (as high or
 * higher there), 1: raised, 2: the key was missing.
 */
const RAISE_TOKEN_VERSION = `local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if cur then return 1 end
return 2`;

const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Users and their credentials: registration, password checks, look-ups. */
export class UserService {
  /** Verified against when an email is unknown, so a miss costs the same time as a hit. */
  private readonly dummyHash: Promise<string>;
  /** The count of active admins: every change of a user's roles or status goes through it. */
  readonly admins = new ActiveAdmins();

  constructor(private readonly redis: Redis) {
    this.dummyHash = argon2.hash('not-a-real-password-0', ARGON2_OPTIONS);
  }

  hashPassword(password: string): Promise<string> {
    return argon2.hash(password, ARGON2_OPTIONS);
  }

  async register(input: NewUser, roles: Role[] = [Role.USER]): Promise<User> {
    const email = input.email.trim().toLowerCase();
    const passwordHash = await this.hashPassword(input.password);
    const admin = roles.includes(Role.ADMIN);
    if (admin) await this.admins.ensure();
    try {
      const doc = await UserModel.create({ email, name: input.name.trim(), passwordHash, roles });
      const user = doc.toObject() as User;
      if (admin && isActiveAdmin(user)) await this.admins.give(1);
      await this.publishTokenVersion(user);
      return user;
    } catch (err) {
      if ((err as { code?: number }).code === 11000) throw invalidInput('email', ALREADY_REGISTERED);
      throw err;
    }
  }

  /**
   * The user whose password matches, else `AUTH-001` with one message for every cause
   * (unknown email, wrong password, locked), so a caller cannot tell which.
   */
  async authenticate(emailRaw: string, password: string): Promise<User> {
    const email = emailRaw.trim().toLowerCase();
    const user = await UserModel.findOne({ email }).lean<User>();
    const ok = await argon2.verify(user?.passwordHash ?? (await this.dummyHash), password).catch(() => false);
    if (!user || !ok || user.status !== UserStatus.ACTIVE) {
      throw new AppError(ErrorCode.AuthFailed, 'Invalid email or password');
    }
    return user;
  }

  /** True when the password is the user's (constant work whatever the outcome). */
  verifyPassword(user: Pick<User, 'passwordHash'>, password: string): Promise<boolean> {
    return argon2.verify(user.passwordHash, password).catch(() => false);
  }

  findByEmail(emailRaw: string): Promise<User | null> {
    return UserModel.findOne({ email: emailRaw.trim().toLowerCase() }).lean<User>();
  }

  /**
   * Revokes every access token of the user at the gateway at once (token version + 1, written
   * to Redis), applying `set` in the same update. Null when the user does not exist (or does not
   * match `filter`). A change of `roles` or `status` goes through `admins.change`.
   */
  async bumpTokenVersion(
    userId: string,
    set: Record<string, unknown> = {},
    unset: Record<string, ''> = {},
    filter: UserFilter = {},
  ): Promise<User | null> {
    const update: Record<string, unknown> = { $inc: { tokenVersion: 1 } };
    if (Object.keys(set).length > 0) update.$set = set;
    if (Object.keys(unset).length > 0) update.$unset = unset;
    const user = await UserModel.findOneAndUpdate({ ...filter, _id: userId }, update, { returnDocument: 'after' }).lean<User>();
    if (user) await this.publishTokenVersion(user);
    return user;
  }

  /** Replaces the password hash (the caller decides what else ends: sessions, token version). */
  async setPassword(userId: string, password: string, set: Record<string, unknown> = {}): Promise<void> {
    await UserModel.updateOne({ _id: userId }, { $set: { passwordHash: await this.hashPassword(password), ...set } });
  }

  findById(id: string): Promise<User | null> {
    return UserModel.findById(id).lean<User>();
  }

  async findByIds(ids: readonly string[]): Promise<User[]> {
    return UserModel.find({ _id: { $in: [...ids] } }).lean<User[]>();
  }

  /**
   * Writes the user's token version where the gateway checks it on every request, never lowering
   * it. When the key was missing (Redis lost it), the version written may be stale: the store's
   * current one is looked up and written too.
   */
  async publishTokenVersion(user: Pick<User, '_id' | 'tokenVersion'>): Promise<void> {
    const key = RedisKeys.tokenVersion(user._id);
    const written = await this.redis.eval(RAISE_TOKEN_VERSION, 1, key, String(user.tokenVersion ?? 0));
    if (written === 2) {
      const current = await UserModel.findById(user._id, { tokenVersion: 1 }).lean<Pick<User, 'tokenVersion'>>();
      if (current && (current.tokenVersion ?? 0) > (user.tokenVersion ?? 0)) {
        await this.redis.eval(RAISE_TOKEN_VERSION, 1, key, String(current.tokenVersion));
      }
    }
  }
}

/** `jane.doe@example.com` → `j***@example.com`: recognisable to teammates, useless to harvesters. */
export function maskEmail(email: string): string {
  const at = email.indexOf('@');
  return at <= 0 ? '***' : `${email[0]}***${email.slice(at)}`;
}
