import { internalGet } from '../infra/internal';
import type { Logger } from '../infra/logger';

export const USERS_PATH = '/internal/users';
/** Names and addresses of users (notifications: whom to mention, where to email). */
export const USER_CONTACTS_PATH = '/internal/user-contacts';
/** Active users' ids in id order, page by page, with their count (notifications: system broadcasts). */
export const ACTIVE_USERS_PATH = '/internal/active-users';
/** Ids one `USER_CONTACTS_PATH` request may ask about. */
export const USER_CONTACTS_MAX_IDS = 100;

/** What the notification service may know of a user to reach them. */
export interface UserContact {
  id: string;
  name: string;
  email: string;
  active: boolean;
}
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

  /** Names and addresses of the existing accounts among `ids` (unknown ones are absent). `SYS-002` when users cannot answer. */
  async contacts(ids: readonly string[]): Promise<UserContact[]> {
    const out: UserContact[] = [];
    for (let i = 0; i < ids.length; i += USER_CONTACTS_MAX_IDS) {
      const part = ids.slice(i, i + USER_CONTACTS_MAX_IDS);
      const res = await internalGet<{ users: UserContact[] }>(
        this.usersUrl,
        `${USER_CONTACTS_PATH}?ids=${part.map(encodeURIComponent).join(',')}`,
        this.secret,
        'users',
        this.log,
      );
      out.push(...res.users);
    }
    return out;
  }

  /** One page of active users' ids after `after` (id order), and how many active users there are. */
  async activeUsers(after: string | null, limit: number): Promise<{ ids: string[]; total: number }> {
    const q = new URLSearchParams({ limit: String(limit), ...(after ? { after } : {}) });
    return internalGet<{ ids: string[]; total: number }>(
      this.usersUrl,
      `${ACTIVE_USERS_PATH}?${q.toString()}`,
      this.secret,
      'users',
      this.log,
    );
  }
}
