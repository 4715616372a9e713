import { s3ConfigShape } from '@tm/kit/storage';
import { z } from 'zod';
import { DEFAULT_ALLOWED_TYPES } from './file/file.rules';

const empty = (v: unknown) => (v === '' ? undefined : v);
const optional = <T extends z.ZodType>(t: T) => z.preprocess(empty, t.optional());
const int = (min: number, def: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(empty, z.coerce.number().int().min(min).max(max).default(def));

/** The files subgraph's settings (README: Files); validated at start like every service's. */
export const filesConfigShape = {
  PROJECTS_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
  /** The tasks subgraph, asked which project a task belongs to. */
  TASKS_URL: z.string().url().default('http://127.0.0.1:4003/graphql'),
  OUTBOX_SWEEP_MS: int(100, 2000),
  OUTBOX_IDLE_SWEEP_MS: int(100, 30_000),
  FILES_MAX_BYTES: int(1, 25 * 1024 * 1024, 5 * 1024 * 1024 * 1024),
  FILES_ALLOWED_TYPES: z.preprocess(
    empty,
    z
      .string()
      .default(DEFAULT_ALLOWED_TYPES.join(','))
      .transform((s) =>
        s
          .split(',')
          .map((t) => t.trim().toLowerCase())
          .filter(Boolean),
      ),
  ),
  FILES_PROJECT_QUOTA_BYTES: int(1, 1024 * 1024 * 1024),
  FILES_UPLOAD_URL_TTL_SECONDS: int(1, 900, 7 * 24 * 3600),
  FILES_DOWNLOAD_URL_TTL_SECONDS: int(1, 300, 7 * 24 * 3600),
  FILES_STORAGE: z.preprocess(empty, z.enum(['local', 's3']).default('local')),
  /** Local storage: the directory objects live in. */
  FILES_DIR: z.preprocess(empty, z.string().default('.devstack/files')),
  /** Local storage: the files service's address as clients reach it (upload/download URLs). */
  FILES_PUBLIC_URL: optional(z.string().url()),
  /** Local storage: HMAC key of the URLs (≥ 32 chars); default derived from INTERNAL_SECRET. */
  FILES_URL_SECRET: optional(z.string().min(32, 'must be at least 32 characters')),
  ...s3ConfigShape,
  CLAMAV_HOST: optional(z.string().min(1)),
  CLAMAV_PORT: int(1, 3310, 65535),
  CLAMAV_TIMEOUT_MS: int(100, 30_000),
  FILES_SCAN_CONCURRENCY: int(1, 2, 64),
  FILES_SCAN_TIMEOUT_MS: int(100, 120_000),
  FILES_SCAN_ATTEMPTS: int(1, 5, 100),
  FILES_SCAN_BACKOFF_MS: int(10, 2000),
  /** While the scanner does not answer, how often a waiting scan looks again. */
  FILES_SCANNER_RETRY_MS: int(50, 5000),
  FILES_SWEEP_MS: int(100, 60_000),
  /** The orphan sweep lists every stored object: less often than the other sweeps. */
  FILES_ORPHAN_SWEEP_MS: int(100, 3_600_000),
  FILES_ORPHAN_GRACE_SECONDS: int(0, 3600),
  /** Files SCANNING longer than this are queued again by the sweep (a lost job). */
  FILES_STALE_SCAN_SECONDS: int(1, 900),
};
