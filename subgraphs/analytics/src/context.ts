import type { PermissionsClient, RequestAccess } from '@tm/kit/contracts';
import type { AuditLog, BaseContext } from '@tm/kit/infra';
import type { DashboardService } from './dashboard/dashboard.service';
import type { MetricsService } from './metrics/metrics.service';
import type { ReportService } from './report/report.service';
import type { WorkloadService } from './workload/workload.service';

export interface Services {
  metrics: MetricsService;
  workload: WorkloadService;
  reports: ReportService;
  dashboards: DashboardService;
  permissions: PermissionsClient;
  audit: AuditLog;
}

export interface AnalyticsContext extends BaseContext {
  services: Services;
  /** The caller's project memberships, fetched once per request. */
  access: RequestAccess;
}
