import DataLoader from 'dataloader';
import { RedisKeys, type Redis } from '@tm/kit';
import type { UserCard, UserCards } from './user/user-cards';
import type { User } from './user/user.model';
import type { UserService } from './user/user.service';

/** Per-request batching: one database round trip per tick for any number of users. */
export function createLoaders(users: UserService, cards: UserCards, redis: Redis) {
  return {
    user: new DataLoader<string, User | null>(async (ids) => {
      const found = await users.findByIds(ids);
      const byId = new Map(found.map((u) => [u._id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    /** Name-only look-ups (federated `User { name }`), from the card cache. */
    card: new DataLoader<string, UserCard | null>(async (ids) => {
      const found = await cards.of(ids);
      return ids.map((id) => found.get(id) ?? null);
    }),
    online: new DataLoader<string, boolean>(async (ids) => {
      const values = await redis.mget(...ids.map((id) => RedisKeys.presence(id)));
      return values.map((v) => v !== null);
    }),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
