import { requireUser } from '@tm/kit/graphql';
import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { NotificationsContext } from '../context';

@Resolver()
export class DeviceResolver {
  @Authorized()
  @Mutation(() => Boolean, {
    description: 'Registers a device for push: token = the Web Push subscription as JSON, platform = web',
  })
  registerDeviceToken(
    @Arg('token') token: string,
    @Arg('platform') platform: string,
    @Ctx() ctx: NotificationsContext,
  ): Promise<boolean> {
    return ctx.services.devices.register(requireUser(ctx.user), token, platform);
  }
}
