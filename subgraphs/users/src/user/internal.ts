import { internalRoute, isId, USERS_PATH, type RouteHandler } from '@tm/kit';
import { UserModel } from './user.model';

/**
 * `GET /internal/users?id=…`: whether an account with that id exists (projects asks before it adds
 * a member). Signed service-to-service requests only; answers nothing but the yes or no.
 */
export function usersRoute(secret: string): Record<string, RouteHandler> {
  return {
    [USERS_PATH]: internalRoute('users', secret, async (query) => {
      const id = query.get('id');
      if (!isId(id)) return null;
      return { exists: (await UserModel.exists({ _id: id })) !== null };
    }),
  };
}
