import type { Logger } from '@tm/kit/infra';
import { Role, UserModel } from '../user/user.model';
import type { UserService } from '../user/user.service';
import { passwordProblem } from '../password/password.rules';

export type FirstAdminResult = 'created' | 'exists' | 'email-taken';

/**
 * Creates the first administrator from ADMIN_EMAIL / ADMIN_PASSWORD when no ADMIN exists. There is
 * no default password: without both variables nothing happens. An existing non-admin account with
 * that email is never promoted here (whoever registered it first would become admin).
 */
export async function ensureFirstAdmin(
  users: UserService,
  email: string,
  password: string,
  log: Logger,
): Promise<FirstAdminResult> {
  if (await UserModel.exists({ roles: Role.ADMIN })) return 'exists';
  const problem = passwordProblem(password);
  if (problem) throw new Error(`ADMIN_PASSWORD: ${problem}`);
  try {
    const user = await users.register({ email, name: 'Administrator', password }, [Role.ADMIN, Role.USER]);
    log.info({ userId: user._id }, 'first administrator created from ADMIN_EMAIL');
    return 'created';
  } catch (err) {
    if ((err as { code?: string }).code === 'API-002') {
      // another process made it at the same moment, or the email belongs to a non-admin
      if (await UserModel.exists({ roles: Role.ADMIN })) return 'exists';
      log.warn('ADMIN_EMAIL is already registered to a non-admin account: not promoted (use create-admin --promote)');
      return 'email-taken';
    }
    throw err;
  }
}
