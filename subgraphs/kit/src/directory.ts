import { internalGet } from './internal';
import type { Logger } from './logger';

export const USERS_PATH = '/internal/users';
/** Where the gateway asks a user's token version when Redis has lost it. */
export const TOKEN_VERSION_PATH = '/internal/token-version';

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

  /**
   * The user's current token version from the store (users also writes it back to Redis, never
   * lowering it); null when there is no such account. `SYS-002` when users cannot answer.
   */
  async tokenVersion(userId: string): Promise<number | null> {
    const res = await internalGet<{ version: number | null }>(
      this.usersUrl,
      `${TOKEN_VERSION_PATH}?id=${encodeURIComponent(userId)}`,
      this.secret,
      'users',
      this.log,
    );
    return typeof res.version === 'number' ? res.version : null;
  }
}
