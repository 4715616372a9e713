import { Args, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import { requireUser } from '@tm/kit/graphql';
import type { UsersContext } from '../context';
import { ChangePasswordArgs, RequestPasswordResetArgs, ResetPasswordArgs } from './password.inputs';

@Resolver()
export class PasswordResolver {
  @Mutation(() => Boolean, {
    description: 'Always true; an existing account gets a reset link (valid 30 min, single use) by email',
  })
  requestPasswordReset(@Args(() => RequestPasswordResetArgs) args: RequestPasswordResetArgs, @Ctx() ctx: UsersContext): boolean {
    return ctx.services.passwords.request(args.email, { correlationId: ctx.correlationId });
  }

  @Mutation(() => Boolean, {
    description: 'Sets a new password with a reset token; ends every session. AUTH-002 for a bad/used/expired token',
  })
  resetPassword(@Args(() => ResetPasswordArgs) args: ResetPasswordArgs, @Ctx() ctx: UsersContext): Promise<boolean> {
    return ctx.services.passwords.reset(args.token, args.newPassword);
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description: "Changes the signed-in user's password; every other session ends at once, this one stays signed in",
  })
  changePassword(@Args(() => ChangePasswordArgs) args: ChangePasswordArgs, @Ctx() ctx: UsersContext): Promise<boolean> {
    const who = { userId: requireUser(ctx.user), sessionId: ctx.user.sessionId, clientIp: ctx.clientIp ?? null };
    return ctx.services.passwords.change(who, args.currentPassword, args.newPassword);
  }
}
