import {
  ACTIVE_USERS_PATH,
  isId,
  TOKEN_VERSION_PATH,
  USER_CONTACTS_MAX_IDS,
  USER_CONTACTS_PATH,
  USERS_PATH,
} from '@tm/kit/contracts';
import { internalRoute, type RouteHandler } from '@tm/kit/infra';
import { UserModel, UserStatus, type User } from './user/user.model';

/** Every internal (service-to-service) route of users: signed requests of other services only, never clients. */
export function internalRoutes(
  secret: string,
  publishTokenVersion: (user: Pick<User, '_id' | 'tokenVersion'>) => Promise<void>,
): Record<string, RouteHandler> {
  return {
    /**
     * `GET /internal/token-version?id=…` (the gateway, when Redis has lost a user's token version):
     * the store's version, written back to Redis (never lowering it) before it is answered.
     */
    [TOKEN_VERSION_PATH]: internalRoute('users', secret, async (query) => {
      const id = query.get('id');
      if (!isId(id)) return null;
      const user = await UserModel.findById(id, { tokenVersion: 1 }).lean<Pick<User, '_id' | 'tokenVersion'>>();
      if (!user) return { version: null };
      await publishTokenVersion(user);
      return { version: user.tokenVersion ?? 0 };
    }),
    /**
     * `GET /internal/users?id=…`: whether an account with that id exists (projects asks before it
     * adds a member); answers nothing but the yes or no.
     */
    [USERS_PATH]: internalRoute('users', secret, async (query) => {
      const id = query.get('id');
      if (!isId(id)) return null;
      return { exists: (await UserModel.exists({ _id: id })) !== null };
    }),
    /** `GET /internal/user-contacts?ids=a,b`: name, address and whether active (notifications: mentions, emails). */
    [USER_CONTACTS_PATH]: internalRoute('users', secret, async (query) => {
      const ids = (query.get('ids') ?? '').split(',').filter(Boolean);
      if (ids.length === 0 || ids.length > USER_CONTACTS_MAX_IDS || !ids.every(isId)) return null;
      const users = await UserModel.find({ _id: { $in: ids } }, { name: 1, email: 1, status: 1 }).lean<
        Array<Pick<User, '_id' | 'name' | 'email' | 'status'>>
      >();
      return { users: users.map((u) => ({ id: u._id, name: u.name, email: u.email, active: u.status === 'ACTIVE' })) };
    }),
    /** `GET /internal/active-users?after=&limit=`: active users' ids in id order and their count (system broadcasts). */
    [ACTIVE_USERS_PATH]: internalRoute('users', secret, async (query) => {
      const limit = Number(query.get('limit') ?? '500');
      const after = query.get('after');
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000 || (after !== null && !isId(after))) return null;
      const active = { status: UserStatus.ACTIVE };
      const [rows, total] = await Promise.all([
        UserModel.find(after ? { ...active, _id: { $gt: after } } : active, { _id: 1 })
          .sort({ _id: 1 })
          .limit(limit)
          .lean<Array<{ _id: string }>>(),
        UserModel.countDocuments(active),
      ]);
      return { ids: rows.map((r) => r._id), total };
    }),
  };
}
