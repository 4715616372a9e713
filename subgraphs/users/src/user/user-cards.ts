import { anyOf, VersionedCache, type Logger, type Redis } from '@tm/kit';
import { UserModel, type User } from './user.model';

/** What a card shows of a person: enough for boards and member lists (`assignee { name }`). */
export type UserCard = Pick<User, '_id' | 'name'>;
/** Selections a card can answer on its own. */
export const CARD_FIELDS: ReadonlySet<string> = new Set(['id', 'name', '__typename']);
/** How long a card stays cached (a bound on staleness only if a write could not reach Redis). */
export const USER_CARD_TTL_MS = 5 * 60_000;

/**
 * People's cards, cached in Redis: a board names up to a hundred people per request, and on the
 * test store a look-up of many users by id reads and decodes the whole users collection. Exact on
 * writes (VersionedCache): whatever changes a card's fields (today nothing does: a name is set at
 * registration) must call `changed` before it answers.
 */
export class UserCards {
  private readonly cache: VersionedCache<UserCard>;

  constructor(redis: Redis, log: Logger) {
    this.cache = new VersionedCache<UserCard>(redis, 'user-cards', { ttlMs: USER_CARD_TTL_MS }, log);
  }

  /** Cards of existing users by id (unknown ids are absent). */
  of(ids: readonly string[]): Promise<Map<string, UserCard>> {
    return this.cache.readMany(ids, async (missing) => {
      const found = await UserModel.find({ _id: anyOf(missing) }, { name: 1 }).lean<UserCard[]>();
      return new Map(found.map((u) => [u._id, { _id: u._id, name: u.name }]));
    });
  }

  /** After any change to a user's card fields, before answering or publishing it. */
  changed(userId: string): Promise<void> {
    return this.cache.changed(userId);
  }
}
