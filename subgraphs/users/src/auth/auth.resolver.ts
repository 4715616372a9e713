import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { UsersContext } from '../context';
import { LoginInput, RegisterInput } from '../user/user.inputs';
import { AuthPayload } from './auth.payload';
import type { Tokens } from './auth.service';

/** The caller just proved to be this user: let them see their own private fields. */
function asSelf(ctx: UsersContext) {
  return (tokens: Tokens): Tokens => {
    ctx.selfIds.add(tokens.user._id);
    return tokens;
  };
}

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload, { description: 'Creates an account and signs it in' })
  register(@Arg('input', () => RegisterInput) input: RegisterInput, @Ctx() ctx: UsersContext): Promise<AuthPayload> {
    return ctx.services.auth.register(input, ctx.clientIp ?? null).then(asSelf(ctx));
  }

  @Mutation(() => AuthPayload, { description: 'AUTH-001 on bad credentials, AUTH-003 when an MFA code is needed' })
  login(@Arg('input', () => LoginInput) input: LoginInput, @Ctx() ctx: UsersContext): Promise<AuthPayload> {
    return ctx.services.auth.login(input, ctx.clientIp ?? null).then(asSelf(ctx));
  }

  @Mutation(() => AuthPayload, { description: 'Rotates the refresh token; reusing an old one ends the session' })
  refreshToken(@Arg('refreshToken') refreshToken: string, @Ctx() ctx: UsersContext): Promise<AuthPayload> {
    return ctx.services.auth.refresh(refreshToken).then(asSelf(ctx));
  }

  @Mutation(() => Boolean, { description: 'Ends the session of this refresh token' })
  logout(@Arg('refreshToken') refreshToken: string, @Ctx() ctx: UsersContext): Promise<boolean> {
    return ctx.services.auth.logout(refreshToken, ctx.user.userId);
  }
}
