import { s3ConfigShape } from '@tm/kit/storage';
import { z } from 'zod';

const empty = (v: unknown) => (v === '' ? undefined : v);
const optional = <T extends z.ZodType>(t: T) => z.preprocess(empty, t.optional());
const int = (min: number, def: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(empty, z.coerce.number().int().min(min).max(max).default(def));

/** The analytics subgraph's settings (README: Analytics); validated at start like every service's. */
export const analyticsConfigShape = {
  /** The projects subgraph, whose internal endpoint answers permission-cache misses. */
  PROJECTS_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
  /** How often the read model's consumer looks for new events when it has caught up. */
  ANALYTICS_POLL_MS: int(20, 250, 60_000),
  /** Events delivered to an analytics process that died before acknowledging them are taken over after this long. */
  ANALYTICS_CLAIM_IDLE_MS: int(1000, 30_000),
  /** Where reports are stored: `local` (REPORTS_DIR) or `s3` (the S3_* settings, as the files service's). */
  REPORTS_STORAGE: z.preprocess(empty, z.enum(['local', 's3']).default('local')),
  ...s3ConfigShape,
  /** Local report storage: the directory finished reports live in (under `reports/`). */
  REPORTS_DIR: z.preprocess(empty, z.string().default('.devstack/reports')),
  /** The analytics service's address as clients reach it (download URLs). */
  REPORTS_PUBLIC_URL: optional(z.string().url()),
  /** HMAC key of download URLs (≥ 32 chars); default derived from INTERNAL_SECRET. */
  REPORTS_URL_SECRET: optional(z.string().min(32, 'must be at least 32 characters')),
  /** A finished report is kept this long, then removed (status EXPIRED). */
  REPORTS_TTL_SECONDS: int(1, 24 * 3600, 30 * 24 * 3600),
  /** Lifetime of one signed download URL (a fresh one comes with every `reportJob` read). */
  REPORTS_URL_TTL_SECONDS: int(1, 300, 7 * 24 * 3600),
  REPORTS_SWEEP_MS: int(100, 60_000),
  REPORTS_CONCURRENCY: int(1, 1, 16),
  /** Reports one user may have queued or running at once (more: API-001). */
  REPORTS_MAX_ACTIVE_PER_USER: int(1, 3, 100),
  /** Records of finished jobs (FAILED, CANCELLED, EXPIRED) are removed this long after they finished. */
  REPORTS_KEEP_JOBS_SECONDS: int(60, 30 * 24 * 3600),
  /** Upper bound of rows written per second by one report (0 = unbounded): keeps big reports from crowding the store. */
  REPORTS_ROWS_PER_SECOND: int(0, 0),
  /** Largest dashboard layout accepted by saveDashboard (bytes of its JSON). */
  DASHBOARD_MAX_BYTES: int(256, 16 * 1024, 1024 * 1024),
  DASHBOARDS_PER_USER: int(1, 20, 1000),
};
