import { getModelForClass, modelOptions, prop } from '@typegoose/typegoose';
import { AppError, ErrorCode, isDuplicateKeyError } from '@tm/kit/contracts';
import { Role, UserModel, UserStatus, type User } from './user.model';

/** A counter kept by atomic updates (`counters` collection). */
@modelOptions({ schemaOptions: { collection: 'counters', versionKey: false } })
export class Counter {
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: Number, required: true })
  public value!: number;
}

export const CounterModel = getModelForClass(Counter);
export const ACTIVE_ADMINS = 'activeAdmins';

type AdminState = Pick<User, 'roles' | 'status'>;
/** A MongoDB filter of users. */
export type UserFilter = Record<string, unknown>;
export const isActiveAdmin = (u: AdminState): boolean => u.status === UserStatus.ACTIVE && u.roles.includes(Role.ADMIN);

/** The fields that decide whether this user is an active admin, as read: a compare-and-set filter. */
const pinned = (u: AdminState & Pick<User, '_id'>): UserFilter => ({
  _id: u._id,
  status: u.status,
  roles: u.roles.includes(Role.ADMIN) ? Role.ADMIN : { $ne: Role.ADMIN },
});

/** How often a change is decided again when the user changed between its read and its write. */
const MAX_ATTEMPTS = 10;

/**
 * "Never lock or demote the last active administrator", without a lock or transactions: the
 * number of active admins (ACTIVE and ADMIN) is held in one counter document, updated atomically.
 *
 * A change that ends an active admin first takes one from the counter by
 * `{ value: { $gt: n } }` (matches nothing: they are the last ones, refused), then writes the user
 * by a compare-and-set on what made them an active admin, and gives the count back if that lost.
 * A change that makes one is counted after its write. So the counter is at least 1 once there is
 * an admin, never above the real number, and exact once changes settle. Every writer of `roles`
 * or `status` goes through here (UserService.register, AdminService, create-admin).
 */
export class ActiveAdmins {
  private ready: Promise<void> | undefined;

  /**
   * Creates the counter from a count of active admins when there is none yet (a new database, or
   * one from before the counter). Each change calls it before its write, so the count cannot miss one.
   */
  ensure(): Promise<void> {
    this.ready ??= (async () => {
      if (await CounterModel.exists({ _id: ACTIVE_ADMINS })) return;
      const value = await UserModel.countDocuments({ roles: Role.ADMIN, status: UserStatus.ACTIVE });
      try {
        await CounterModel.create({ _id: ACTIVE_ADMINS, value });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err; // another process made it first
      }
    })().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  /** Takes `n` away when more than `n` remain; false otherwise (nothing taken). */
  async take(n: number): Promise<boolean> {
    await this.ensure();
    if (n === 0) return true;
    const r = await CounterModel.updateOne({ _id: ACTIVE_ADMINS, value: { $gt: n } }, { $inc: { value: -n } });
    return r.modifiedCount === 1;
  }

  async give(n: number): Promise<void> {
    if (n > 0) await CounterModel.updateOne({ _id: ACTIVE_ADMINS }, { $inc: { value: n } });
  }

  async count(): Promise<number | null> {
    return (await CounterModel.findById(ACTIVE_ADMINS).lean<Counter>())?.value ?? null;
  }

  /**
   * Changes one user's `status` and/or `roles` (to `next`) by `write`, which must apply its update
   * only to a user matching the filter it is given and return the user after (null: no match).
   * `refuse` is thrown when the user is the last active admin and would stop being one. Null when
   * the user does not exist.
   */
  async change(
    userId: string,
    next: Partial<AdminState>,
    write: (filter: UserFilter) => Promise<User | null>,
    refuse: () => Error,
  ): Promise<User | null> {
    await this.ensure();
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const before = await UserModel.findById(userId, { roles: 1, status: 1 }).lean<AdminState & Pick<User, '_id'>>();
      if (!before) return null;
      const was = isActiveAdmin(before);
      const will = isActiveAdmin({ roles: next.roles ?? before.roles, status: next.status ?? before.status });
      const leaving = was && !will;
      if (leaving && !(await this.take(1))) throw refuse();
      const after = await write(pinned(before));
      if (!after) {
        if (leaving) await this.give(1); // not taken away after all
        continue; // changed meanwhile: decide again
      }
      if (!was && will) await this.give(1);
      return after;
    }
    throw new AppError(ErrorCode.ServiceUnavailable, 'The item is busy, try again');
  }
}
