import { internalGet } from './internal';
import type { Logger } from './logger';

export const USERS_PATH = '/internal/users';

/**
 * Asks the users subgraph, the owner of accounts, whether a user id names an account (its signed
 * internal endpoint). Projects checks this before it gives anyone a membership, so a board never
 * lists a member nobody can resolve.
 */
export class UserDirectory {
  constructor(
    private readonly usersUrl: string,
    private readonly secret: string,
    private readonly log: Logger,
  ) {}

  /** `SYS-002` (service users) when the users subgraph cannot answer. */
  async exists(userId: string): Promise<boolean> {
    const res = await internalGet<{ exists: boolean }>(
      this.usersUrl,
      `${USERS_PATH}?id=${encodeURIComponent(userId)}`,
      this.secret,
      'users',
      this.log,
    );
    return res.exists === true;
  }
}
