import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root, Authorized } from 'type-graphql';
import { AppError, ErrorCode } from '@tm/kit/contracts';
import type { UsersContext } from '../context';
import { Role, User, UserStatus } from './user.model';
import { maskEmail } from './user.service';

/** The caller is this user (signed in as them, or just proved to be them) or an administrator. */
function selfOrAdmin(user: User, ctx: UsersContext): boolean {
  return ctx.user.userId === user._id || ctx.selfIds.has(user._id) || ctx.user.roles.includes(Role.ADMIN);
}

/** The caller and this user are members of at least one common project (the shared permissions cache). */
async function sharesProject(user: User, ctx: UsersContext): Promise<boolean> {
  if (!ctx.user.userId) return false;
  const mine = await ctx.loaders.memberships.load(ctx.user.userId);
  if (Object.keys(mine).length === 0) return false;
  const theirs = await ctx.loaders.memberships.load(user._id);
  return Object.keys(mine).some((projectId) => Object.hasOwn(theirs, projectId));
}

function forbidden(field: string, who: string): AppError {
  return new AppError(ErrorCode.Forbidden, `Only ${who} can see ${field}`, { field });
}

/**
 * Who sees what of a user: `roles`, `status` and `mfaEnabled` only the user and administrators;
 * `lastSeenAt` and `online` also members of a project the user is in. Anyone else gets null for
 * the nullable `lastSeenAt` and `PERM-001` for the non-null fields.
 */
@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { nullable: true, description: 'The signed-in user; null when anonymous' })
  me(@Ctx() ctx: UsersContext): Promise<User | null> | null {
    return ctx.user.userId ? ctx.loaders.user.load(ctx.user.userId) : null;
  }

  @Authorized()
  @Query(() => User, { nullable: true })
  user(@Arg('id', () => ID) id: string, @Ctx() ctx: UsersContext): Promise<User | null> {
    return ctx.loaders.user.load(id);
  }

  @FieldResolver(() => String, { description: 'Full address for the user and admins; masked for others' })
  email(@Root() user: User, @Ctx() ctx: UsersContext): string {
    return selfOrAdmin(user, ctx) ? user.email : maskEmail(user.email);
  }

  @FieldResolver()
  roles(@Root() user: User, @Ctx() ctx: UsersContext): Role[] {
    if (!selfOrAdmin(user, ctx)) throw forbidden('roles', 'the user and administrators');
    return user.roles;
  }

  @FieldResolver()
  status(@Root() user: User, @Ctx() ctx: UsersContext): UserStatus {
    if (!selfOrAdmin(user, ctx)) throw forbidden('status', 'the user and administrators');
    return user.status;
  }

  @FieldResolver()
  mfaEnabled(@Root() user: User, @Ctx() ctx: UsersContext): boolean {
    if (!selfOrAdmin(user, ctx)) throw forbidden('mfaEnabled', 'the user and administrators');
    return user.mfaEnabled;
  }

  @FieldResolver()
  async lastSeenAt(@Root() user: User, @Ctx() ctx: UsersContext): Promise<Date | null> {
    if (!user.lastSeenAt) return null;
    return selfOrAdmin(user, ctx) || (await sharesProject(user, ctx)) ? user.lastSeenAt : null;
  }

  @FieldResolver(() => Boolean, { description: 'Online in any project right now' })
  async online(@Root() user: User, @Ctx() ctx: UsersContext): Promise<boolean> {
    if (!selfOrAdmin(user, ctx) && !(await sharesProject(user, ctx))) {
      throw forbidden('online', 'the user, administrators and members of a project the user is in');
    }
    return ctx.loaders.online.load(user._id);
  }
}
