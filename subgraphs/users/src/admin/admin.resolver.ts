import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { Connection } from '@tm/kit/contracts';
import { requireUser } from '@tm/kit/graphql';
import type { UsersContext } from '../context';
import { Role, User } from '../user/user.model';
import { EncryptionStatus, UserConnection } from './admin.types';

/**
 * User administration (ADMIN only: anyone else gets PERM-001, anonymous AUTH-001). Every call
 * leaves an audit record: who, what, arguments (secrets dropped), when, correlation id, result.
 */
@Authorized(Role.ADMIN)
@Resolver()
export class AdminResolver {
  @Query(() => UserConnection, { description: 'ADMIN: every user, oldest first; search matches the start of name or email' })
  users(
    @Ctx() ctx: UsersContext,
    @Arg('search', () => String, { nullable: true }) search?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<Connection<User>> {
    return ctx.services.audit.run(ctx, 'users', { search, first, after }, () => ctx.services.admin.list(search, first, after));
  }

  @Query(() => EncryptionStatus, { description: 'ADMIN: keys for secrets at rest, their use, and a round-trip self-test' })
  encryptionStatus(@Ctx() ctx: UsersContext): Promise<EncryptionStatus> {
    return ctx.services.audit.run(ctx, 'encryptionStatus', {}, () => ctx.services.admin.encryptionStatus());
  }

  @Mutation(() => [User], { description: 'ADMIN: sign-in refused and every token revoked at once' })
  lockUsers(
    @Arg('userIds', () => [ID]) userIds: string[],
    @Ctx() ctx: UsersContext,
    @Arg('reason', () => String, { nullable: true }) reason?: string | null,
  ): Promise<User[]> {
    return ctx.services.audit.run(ctx, 'lockUsers', { userIds, reason }, () =>
      ctx.services.admin.lock(requireUser(ctx.user), userIds, reason ?? null),
    );
  }

  @Mutation(() => [User], { description: 'ADMIN: lets locked users sign in again' })
  unlockUsers(@Arg('userIds', () => [ID]) userIds: string[], @Ctx() ctx: UsersContext): Promise<User[]> {
    return ctx.services.audit.run(ctx, 'unlockUsers', { userIds }, () => ctx.services.admin.unlock(userIds));
  }

  @Mutation(() => Int, {
    description: 'ADMIN: signs users out and refuses sign-in until they reset their password; returns how many',
  })
  forcePasswordReset(@Arg('userIds', () => [ID]) userIds: string[], @Ctx() ctx: UsersContext): Promise<number> {
    return ctx.services.audit.run(ctx, 'forcePasswordReset', { userIds }, () => ctx.services.admin.forcePasswordReset(userIds));
  }

  @Mutation(() => User, { description: 'ADMIN: replaces the roles (the last active ADMIN cannot be removed)' })
  setUserRoles(
    @Arg('userId', () => ID) userId: string,
    @Arg('roles', () => [Role]) roles: Role[],
    @Ctx() ctx: UsersContext,
  ): Promise<User> {
    return ctx.services.audit.run(ctx, 'setUserRoles', { userId, roles }, () => ctx.services.admin.setRoles(userId, roles));
  }

  @Mutation(() => Boolean, { description: 'ADMIN: revokes every access and refresh token of the user at once' })
  invalidateUserTokens(@Arg('userId', () => ID) userId: string, @Ctx() ctx: UsersContext): Promise<boolean> {
    return ctx.services.audit.run(ctx, 'invalidateUserTokens', { userId }, () => ctx.services.admin.invalidateTokens(userId));
  }

  @Mutation(() => Boolean, {
    description: 'ADMIN: new signing key from now on; the old one stays in the JWKS until its tokens expire',
  })
  rotateSigningKeys(@Ctx() ctx: UsersContext): Promise<boolean> {
    return ctx.services.audit.run(ctx, 'rotateSigningKeys', {}, () => ctx.services.admin.rotateSigningKeys());
  }

  @Mutation(() => User, { description: 'ADMIN: turns MFA off for the user (a role policy may still require enrollment)' })
  disableUserMfa(@Arg('userId', () => ID) userId: string, @Ctx() ctx: UsersContext): Promise<User> {
    return ctx.services.audit.run(ctx, 'disableUserMfa', { userId }, () => ctx.services.admin.disableMfa(userId));
  }

  @Mutation(() => User, { description: 'ADMIN: removes MFA and signs the user out; the next sign-in must enroll again' })
  resetUserMfa(@Arg('userId', () => ID) userId: string, @Ctx() ctx: UsersContext): Promise<User> {
    return ctx.services.audit.run(ctx, 'resetUserMfa', { userId }, () => ctx.services.admin.resetMfa(userId));
  }

  @Mutation(() => Int, {
    description:
      'ADMIN: users with these roles must use MFA (replaces the list; [] clears it); returns how many active users must still enroll',
  })
  enforceMfaForRoles(@Arg('roles', () => [Role]) roles: Role[], @Ctx() ctx: UsersContext): Promise<number> {
    return ctx.services.audit.run(ctx, 'enforceMfaForRoles', { roles }, () =>
      ctx.services.admin.enforceMfaForRoles(roles, requireUser(ctx.user)),
    );
  }
}
