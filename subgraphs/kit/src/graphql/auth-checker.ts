import type { AuthChecker } from 'type-graphql';
import { AppError, ErrorCode } from '../contracts/errors';
import type { UserContext } from '../infra/signed-context';

/**
 * `@Authorized()` needs a signed-in user (`AUTH-001`); `@Authorized('ADMIN')` also the role
 * (`PERM-001`). Checked in the subgraph that owns the data, from the gateway-signed context.
 */
export const authChecker: AuthChecker<{ user: UserContext }> = ({ context }, roles) => {
  if (!context.user?.userId) throw new AppError(ErrorCode.AuthFailed, 'Authentication required');
  if (roles.length > 0 && !roles.some((r) => context.user.roles.includes(r))) {
    throw new AppError(ErrorCode.Forbidden, 'Insufficient permissions');
  }
  return true;
};

/** For services: the signed-in user's id, or `AUTH-001`. */
export function requireUser(user: UserContext): string {
  if (!user.userId) throw new AppError(ErrorCode.AuthFailed, 'Authentication required');
  return user.userId;
}
