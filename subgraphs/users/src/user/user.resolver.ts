import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root, Authorized } from 'type-graphql';
import type { UsersContext } from '../context';
import { Role, User } from './user.model';
import { maskEmail } from './user.service';

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
    const own = ctx.user.userId === user._id || ctx.selfIds.has(user._id) || ctx.user.roles.includes(Role.ADMIN);
    return own ? user.email : maskEmail(user.email);
  }

  @FieldResolver(() => Boolean, { description: 'Online in any project right now' })
  online(@Root() user: User, @Ctx() ctx: UsersContext): Promise<boolean> {
    return ctx.loaders.online.load(user._id);
  }
}
