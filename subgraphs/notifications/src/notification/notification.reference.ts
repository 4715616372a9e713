import type { NotificationsContext } from '../context';
import type { Notification } from './notification.model';

/** `_entities` for Notification, batched; only its recipient resolves it. */
export const notificationReference = {
  Notification: {
    __resolveReference: async (ref: { id: string }, ctx: NotificationsContext): Promise<Notification | null> => {
      const n = await ctx.loaders.notification.load(ref.id);
      return n && n.recipientId === ctx.user.userId ? n : null;
    },
  },
};
