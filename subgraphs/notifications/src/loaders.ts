import DataLoader from 'dataloader';
import type { Notification } from './notification/notification.model';
import type { NotificationService } from './notification/notification.service';

/** Per-request batching: `_entities` of notifications cost one query per tick. */
export function createLoaders(notifications: NotificationService) {
  return {
    notification: new DataLoader<string, Notification | null>(async (ids) => {
      const byId = new Map((await notifications.byIds(ids)).map((n) => [n._id, n]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
