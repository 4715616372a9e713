import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { AnalyticsContext } from '../context';
import { DashboardInput } from './dashboard.inputs';
import { Dashboard } from './dashboard.model';

@Resolver(() => Dashboard)
export class DashboardResolver {
  @Authorized()
  @Query(() => [Dashboard], { description: 'Your dashboards, oldest first' })
  dashboards(@Ctx() ctx: AnalyticsContext): Promise<Dashboard[]> {
    return ctx.services.dashboards.list(ctx.user);
  }

  @Authorized()
  @Mutation(() => Dashboard, { description: 'Creates or replaces one of your dashboards (validated layout, size-limited)' })
  saveDashboard(@Arg('input', () => DashboardInput) input: DashboardInput, @Ctx() ctx: AnalyticsContext): Promise<Dashboard> {
    return ctx.services.dashboards.save(ctx.access, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => Dashboard, { description: "ADMIN: restores a dashboard's default layout (audited)" })
  resetDashboard(@Arg('id', () => ID) id: string, @Ctx() ctx: AnalyticsContext): Promise<Dashboard> {
    return ctx.services.audit.run(ctx, 'resetDashboard', { id }, () => ctx.services.dashboards.reset(id));
  }
}
