import DataLoader from 'dataloader';
import { type Memberships, type PermissionsClient } from '@tm/kit/contracts';
import { type Redis, RedisKeys } from '@tm/kit/infra';
import type { User } from './user/user.model';
import type { UserService } from './user/user.service';

/** Per-request batching: one database round trip per tick for any number of users. */
export function createLoaders(users: UserService, redis: Redis, permissions: PermissionsClient) {
  return {
    user: new DataLoader<string, User | null>(async (ids) => {
      const found = await users.findByIds(ids);
      const byId = new Map(found.map((u) => [u._id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    online: new DataLoader<string, boolean>(async (ids) => {
      const values = await redis.mget(...ids.map((id) => RedisKeys.presence(id)));
      return values.map((v) => v !== null);
    }),
    /** Project memberships of users (the shared `permissions:{userId}` cache, projects on a miss), once per request each. */
    memberships: new DataLoader<string, Memberships>((ids) => Promise.all(ids.map((id) => permissions.memberships(id)))),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
