import { AppError, ErrorCode } from '@tm/kit/contracts';
import { Arg, Authorized, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { NotificationsContext } from '../context';
import { DELIVERY_CHANNELS, type DeliveryChannel } from '../notification/notification.enums';
import { QueueStats } from './admin.types';

/** The operations guide's notification actions (ADMIN, audited). */
@Resolver()
export class NotificationAdminResolver {
  @Authorized('ADMIN')
  @Mutation(() => Int, {
    description:
      'ADMIN: re-queues the channel’s (email, push) deliveries that failed for good in the last `sinceMinutes`; how many',
  })
  retryFailedNotifications(
    @Arg('channel') channel: string,
    @Arg('sinceMinutes', () => Int) sinceMinutes: number,
    @Ctx() ctx: NotificationsContext,
  ): Promise<number> {
    return ctx.services.audit.run(ctx, 'retryFailedNotifications', { channel, sinceMinutes }, async () => {
      const ch = channel.toLowerCase();
      if (!(DELIVERY_CHANNELS as readonly string[]).includes(ch))
        throw new AppError(ErrorCode.InvalidRequest, 'Invalid channel: email or push', { field: 'channel' });
      if (!Number.isInteger(sinceMinutes) || sinceMinutes < 1 || sinceMinutes > 30 * 24 * 60)
        throw new AppError(ErrorCode.InvalidRequest, 'Invalid sinceMinutes: 1 to 43200', { field: 'sinceMinutes' });
      return ctx.services.queues.retryFailed(ch as DeliveryChannel, sinceMinutes);
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => Int, { description: 'ADMIN: removes device tokens whose push endpoint answered 404/410; how many' })
  cleanupInvalidDeviceTokens(@Ctx() ctx: NotificationsContext): Promise<number> {
    return ctx.services.audit.run(ctx, 'cleanupInvalidDeviceTokens', {}, () => ctx.services.devices.cleanupInvalid());
  }

  @Authorized('ADMIN')
  @Mutation(() => Int, {
    description:
      'ADMIN: a SYSTEM notification (level INFO, WARNING or CRITICAL) for every active user, in-app and live; returns at once with how many it will reach',
  })
  broadcastSystemNotification(
    @Arg('message') message: string,
    @Arg('level') level: string,
    @Ctx() ctx: NotificationsContext,
  ): Promise<number> {
    return ctx.services.audit.run(ctx, 'broadcastSystemNotification', { level, messageLength: message.length }, () =>
      ctx.services.schedule.broadcast(ctx.user.userId!, message, level),
    );
  }

  @Authorized('ADMIN')
  @Query(() => [QueueStats], { description: 'ADMIN: waiting/active/failed/delayed/completed jobs per notification queue' })
  notificationQueues(@Ctx() ctx: NotificationsContext): Promise<QueueStats[]> {
    return ctx.services.audit.run(ctx, 'notificationQueues', {}, () => ctx.services.queues.stats());
  }
}
