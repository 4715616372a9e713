import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { AnalyticsContext } from '../context';
import { ProjectRef } from '../project/project.ref';
import { UserRef, userRef } from '../user/user.ref';
import { ReportJob } from './report-job.model';
import { ReportInput } from './report.inputs';

@Resolver(() => ReportJob)
export class ReportResolver {
  @Authorized()
  @Query(() => ReportJob, {
    nullable: true,
    description: "A report job you requested (ADMIN: anyone's): status, progress and, once COMPLETED, a short-lived download URL",
  })
  reportJob(@Arg('id', () => ID) id: string, @Ctx() ctx: AnalyticsContext): Promise<ReportJob> {
    return ctx.services.reports.get(ctx.user, id);
  }

  @Authorized()
  @Mutation(() => ReportJob, {
    description: "Starts a report of a project's tasks (members): CSV or JSON, produced in the background",
  })
  requestReport(@Arg('input', () => ReportInput) input: ReportInput, @Ctx() ctx: AnalyticsContext): Promise<ReportJob> {
    return ctx.services.reports.request(ctx.access, input);
  }

  @Authorized()
  @Mutation(() => ReportJob, {
    description: 'Stops a queued or running report (ADMIN or the requester, audited); no partial file remains',
  })
  cancelReportJob(@Arg('id', () => ID) id: string, @Ctx() ctx: AnalyticsContext): Promise<ReportJob> {
    return ctx.services.audit.run(ctx, 'cancelReportJob', { id }, () => ctx.services.reports.cancel(ctx.user, id));
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'Download URL (COMPLETED only; short-lived, a fresh one on every read)',
  })
  resultUrl(@Root() job: ReportJob, @Ctx() ctx: AnalyticsContext): Promise<string | null> {
    return ctx.services.reports.resultUrl(job, ctx.user);
  }

  @FieldResolver(() => ProjectRef)
  project(@Root() job: ReportJob): ProjectRef {
    return { id: job.projectId };
  }

  @FieldResolver(() => UserRef)
  requestedBy(@Root() job: ReportJob): UserRef {
    return userRef(job.requesterId)!;
  }
}
