import { AppError, ErrorCode } from '@tm/kit/contracts';
import { ConnectionType, selectedFields } from '@tm/kit/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, Info, Int, Resolver, Root } from 'type-graphql';
import type { NotificationsContext } from '../context';
import { Notification } from '../notification/notification.model';
import { UserRef } from './user.ref';

export const NotificationConnection = ConnectionType('Notification', Notification);

/** Notifications are their recipient's only: anyone else (admins too) gets PERM-001. */
function ownOnly(user: UserRef, ctx: NotificationsContext): string {
  if (!ctx.user.userId) throw new AppError(ErrorCode.AuthFailed, 'Authentication required');
  if (user.id !== ctx.user.userId) throw new AppError(ErrorCode.Forbidden, 'Only the user sees their notifications');
  return user.id;
}

@Resolver(() => UserRef)
export class UserNotificationsResolver {
  @FieldResolver(() => NotificationConnection, { description: 'Your notifications, newest first (yours only)' })
  notifications(
    @Root() user: UserRef,
    @Ctx() ctx: NotificationsContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('unreadOnly', () => Boolean, { nullable: true }) unreadOnly?: boolean,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const id = ownOnly(user, ctx);
    const wanted = selectedFields(info);
    return ctx.services.notifications.page(
      id,
      { unreadOnly, first, after },
      { edges: wanted.has('edges') || wanted.has('pageInfo'), totalCount: wanted.has('totalCount') },
    );
  }

  @FieldResolver(() => Int, { description: 'How many of your notifications are unread (yours only)' })
  unreadNotificationCount(@Root() user: UserRef, @Ctx() ctx: NotificationsContext): Promise<number> {
    return ctx.services.notifications.unreadCount(ownOnly(user, ctx));
  }
}

export const userReference = {
  User: { __resolveReference: (ref: { id: string }): UserRef => ({ id: ref.id }) },
};
