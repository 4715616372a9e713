import { Arg, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { AnalyticsContext } from '../context';
import { ProjectRef } from '../project/project.ref';
import { userRef } from '../user/user.ref';
import { ProjectMetrics } from './metrics.types';

@Resolver(() => ProjectRef)
export class ProjectMetricsResolver {
  @FieldResolver(() => ProjectMetrics, {
    description:
      "The project's task metrics (members only): counts over tasks created in [from, to], cycle time and daily throughput over tasks completed in it; to defaults to now, throughput to the last 30 days",
  })
  async metrics(
    @Root() project: ProjectRef,
    @Ctx() ctx: AnalyticsContext,
    @Arg('from', () => Date, { nullable: true }) from?: Date | null,
    @Arg('to', () => Date, { nullable: true }) to?: Date | null,
  ): Promise<ProjectMetrics> {
    const m = await ctx.services.metrics.projectMetrics(ctx.access, project.id, { from, to });
    return { ...m, byAssignee: m.byAssignee.map(({ assigneeId, ...rest }) => ({ ...rest, assignee: userRef(assigneeId) })) };
  }
}
