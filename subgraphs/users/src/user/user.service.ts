import argon2 from 'argon2';
import { AppError, ErrorCode, invalidInput, RedisKeys, type Redis } from '@tm/kit';
import { ActiveAdmins, isActiveAdmin, type UserFilter } from './active-admins';
import { Role, User, UserModel, UserStatus } from './user.model';

export interface NewUser {
  email: string;
  name: string;
  password: string;
}

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
      if ((err as { code?: number }).code === 11000) throw invalidInput('email', 'already registered');
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

  /** Writes the user's token version where the gateway checks it on every request. */
  async publishTokenVersion(user: Pick<User, '_id' | 'tokenVersion'>): Promise<void> {
    await this.redis.set(RedisKeys.tokenVersion(user._id), String(user.tokenVersion ?? 0));
  }
}

/** `jane.doe@example.com` → `j***@example.com`: recognisable to teammates, useless to harvesters. */
export function maskEmail(email: string): string {
  const at = email.indexOf('@');
  return at <= 0 ? '***' : `${email[0]}***${email.slice(at)}`;
}
