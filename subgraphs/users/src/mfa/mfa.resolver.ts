import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { UsersContext } from '../context';
import { User } from '../user/user.model';
import { MfaEnrollment } from './mfa-enrollment.payload';

const MFA_TOKEN_DOC = 'Only when not signed in: the mfaToken of the AUTH-003 that asked for enrollment';

@Resolver()
export class MfaResolver {
  @Mutation(() => MfaEnrollment, { description: 'Starts TOTP enrollment for the signed-in user (or the holder of an mfaToken)' })
  async startMfaEnrollment(
    @Ctx() ctx: UsersContext,
    @Arg('mfaToken', () => String, { nullable: true, description: MFA_TOKEN_DOC }) mfaToken?: string | null,
  ): Promise<MfaEnrollment> {
    const userId = await ctx.services.auth.enrollingUser(ctx.user.userId, mfaToken);
    return ctx.services.mfa.startEnrollment(userId);
  }

  @Mutation(() => User, { description: 'Turns MFA on with a code from the app; AUTH-001 when the code is wrong' })
  async confirmMfaEnrollment(
    @Arg('code') code: string,
    @Ctx() ctx: UsersContext,
    @Arg('mfaToken', () => String, { nullable: true, description: MFA_TOKEN_DOC }) mfaToken?: string | null,
  ): Promise<User> {
    const userId = await ctx.services.auth.enrollingUser(ctx.user.userId, mfaToken);
    const user = await ctx.services.mfa.confirmEnrollment(userId, code);
    ctx.selfIds.add(user._id);
    return user;
  }
}
