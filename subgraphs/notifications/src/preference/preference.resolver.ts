import { requireUser } from '@tm/kit/graphql';
import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { NotificationsContext } from '../context';
import { NotificationPreferences } from './preference.model';
import { NotificationPreferencesInput } from './preference.inputs';

@Resolver()
export class PreferenceResolver {
  @Authorized()
  @Query(() => NotificationPreferences, { description: 'Your notification preferences' })
  notificationPreferences(@Ctx() ctx: NotificationsContext): Promise<NotificationPreferences> {
    return ctx.services.preferences.of(requireUser(ctx.user));
  }

  @Authorized()
  @Mutation(() => NotificationPreferences, {
    description: 'Changes the channels of the kinds you name, and the daily digest option',
  })
  updateNotificationPreferences(
    @Arg('input', () => NotificationPreferencesInput) input: NotificationPreferencesInput,
    @Ctx() ctx: NotificationsContext,
  ): Promise<NotificationPreferences> {
    return ctx.services.preferences.update(requireUser(ctx.user), input);
  }
}
