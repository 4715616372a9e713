import { Authorized, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { AnalyticsContext } from '../context';
import { UserRef } from '../user/user.ref';
import { Workload } from './workload.types';

@Resolver(() => UserRef)
export class WorkloadResolver {
  @Authorized()
  @FieldResolver(() => Workload, {
    description: "The user's open, overdue and recently completed tasks across their projects (the user and ADMINs only)",
  })
  workload(@Root() user: UserRef, @Ctx() ctx: AnalyticsContext): Promise<Workload> {
    return ctx.services.workload.workload(ctx.user, user.id);
  }
}
