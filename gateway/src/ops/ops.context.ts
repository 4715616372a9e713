import type { AuditLog } from '@tm/kit/infra';
import type { GatewayContext } from '../gateway.context';
import type { AuditQueryService } from './audit/audit.service';
import type { HealthService } from './health/health.service';
import type { RateLimits } from './limits/rate-limit';
import type { SettingsService } from './settings/settings.service';
import type { OperationStats } from './stats/stats.service';

/** What the ops resolvers work with (one ops plane per gateway process). */
export interface OpsServices {
  settings: SettingsService;
  health: HealthService;
  audit: AuditLog;
  auditEntries: AuditQueryService;
  rateLimits: RateLimits;
  stats: OperationStats;
  /** Asks every gateway process to close matching live connections; how many were closed. */
  disconnect(userId: string | null, reason: string): Promise<number>;
}

/** The gateway's context plus the ops services (added by the in-process data source). */
export interface OpsContext extends GatewayContext {
  ops: OpsServices;
}
