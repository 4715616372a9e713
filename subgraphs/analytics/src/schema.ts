import { buildFederatedSchema } from '@tm/kit/graphql';
import type { GraphQLSchema } from 'graphql';
import { DashboardResolver } from './dashboard/dashboard.resolver';
import { ProjectMetricsResolver } from './metrics/metrics.resolver';
import { projectReference } from './project/project.ref';
import { ReportResolver } from './report/report.resolver';
import { userReference } from './user/user.ref';
import { WorkloadResolver } from './workload/workload.resolver';

export function buildAnalyticsSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    { resolvers: [ProjectMetricsResolver, WorkloadResolver, ReportResolver, DashboardResolver] },
    { ...projectReference, ...userReference },
  );
}
