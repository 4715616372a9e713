import { requireUser } from '@tm/kit/graphql';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { NotificationsContext } from '../context';
import { ProjectRef } from '../project/project.ref';
import { TaskRef } from '../task/task.ref';
import { UserRef } from '../user/user.ref';
import { Notification } from './notification.model';

@Resolver(() => Notification)
export class NotificationResolver {
  @Authorized()
  @Query(() => Notification, { nullable: true, description: 'One of your notifications (null for anyone else’s)' })
  notification(@Arg('id', () => ID) id: string, @Ctx() ctx: NotificationsContext): Promise<Notification | null> {
    return ctx.services.notifications.own(requireUser(ctx.user), id);
  }

  @Authorized()
  @Mutation(() => Int, { description: 'Marks your notifications among `ids` read; returns how many were unread' })
  markNotificationsRead(@Arg('ids', () => [ID]) ids: string[], @Ctx() ctx: NotificationsContext): Promise<number> {
    return ctx.services.notifications.markRead(requireUser(ctx.user), ids);
  }

  @Authorized()
  @Mutation(() => Int, { description: 'Marks all your notifications read; returns how many were unread' })
  markAllNotificationsRead(@Ctx() ctx: NotificationsContext): Promise<number> {
    return ctx.services.notifications.markAllRead(requireUser(ctx.user));
  }

  /** Served by the gateway over graphql-ws (README: Notifications); declared here, where the data lives. */
  @Subscription(() => Notification, {
    description: 'Your new notifications as they are made (graphql-ws on the gateway’s /graphql); refetch after a reconnect',
    subscribe: () => {
      throw new Error('served by the gateway');
    },
  })
  notificationReceived(@Root() n: Notification): Notification {
    return n;
  }

  @FieldResolver(() => UserRef)
  recipient(@Root() n: Notification): UserRef {
    return { id: n.recipientId };
  }

  @FieldResolver(() => TaskRef, { nullable: true, description: 'The task it is about, if any (null once you cannot see it)' })
  task(@Root() n: Notification): TaskRef | null {
    return n.taskId ? { id: n.taskId } : null;
  }

  @FieldResolver(() => ProjectRef, { nullable: true, description: 'The project it is about, if any' })
  project(@Root() n: Notification): ProjectRef | null {
    return n.projectId ? { id: n.projectId } : null;
  }
}
