import { internalRoute, isId, TOKEN_VERSION_PATH, USERS_PATH, type RouteHandler } from '@tm/kit';
import { UserModel, type User } from './user.model';

/**
 * `GET /internal/users?id=…`: whether an account with that id exists (projects asks before it adds
 * a member). Signed service-to-service requests only; answers nothing but the yes or no.
 */
export function usersRoute(
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
    [USERS_PATH]: internalRoute('users', secret, async (query) => {
      const id = query.get('id');
      if (!isId(id)) return null;
      return { exists: (await UserModel.exists({ _id: id })) !== null };
    }),
  };
}
