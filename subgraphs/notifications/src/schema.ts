import { buildFederatedSchema } from '@tm/kit/graphql';
import type { GraphQLSchema } from 'graphql';
import { NotificationAdminResolver } from './admin/admin.resolver';
import { DeviceResolver } from './device/device.resolver';
import { notificationReference } from './notification/notification.reference';
import { NotificationResolver } from './notification/notification.resolver';
import { PreferenceResolver } from './preference/preference.resolver';
import { UserNotificationsResolver, userReference } from './user/user.resolver';

export function buildNotificationsSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    {
      resolvers: [NotificationResolver, UserNotificationsResolver, PreferenceResolver, DeviceResolver, NotificationAdminResolver],
    },
    { ...notificationReference, ...userReference },
  );
}
