import { encryptionKeysSchema } from '@tm/kit/infra';
import { z } from 'zod';

const optional = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

/** The notifications service's own settings (README: Environment). */
export const notificationsConfigShape = {
  /** The users subgraph: names and addresses of recipients, active users for broadcasts. */
  USERS_URL: z.string().url().default('http://127.0.0.1:4001/graphql'),
  /** Opens the sealed parts of users' PasswordResetRequested (the same keys as users); without, reset emails are not sent. */
  ENCRYPTION_KEYS: z.preprocess((v) => (v === '' ? undefined : v), encryptionKeysSchema.optional()),
  /** Links in notifications and emails point here. */
  WEB_APP_URL: z.preprocess((v) => (v === '' ? undefined : v), z.string().url().default('http://localhost:3000')),
  /** `smtp://user:pass@host:port` or `smtps://…` (any relay, e.g. SendGrid's); unset: no emails. */
  SMTP_URL: optional,
  EMAIL_FROM: z.string().min(3).default('Task Manager <no-reply@localhost>'),
  SMTP_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Web Push (VAPID) keys, `npx web-push generate-vapid-keys`; unset: no pushes. */
  VAPID_PUBLIC_KEY: optional,
  VAPID_PRIVATE_KEY: optional,
  VAPID_SUBJECT: z.string().default('mailto:ops@localhost'),
  /** Tries per email/push job, the first retry after NOTIFY_BACKOFF_MS, doubling. */
  NOTIFY_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  NOTIFY_BACKOFF_MS: z.coerce.number().int().min(10).default(5000),
  NOTIFY_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  /** How often the event streams are read, and after how long a dead consumer's events are taken over. */
  NOTIFY_POLL_MS: z.coerce.number().int().min(10).default(500),
  NOTIFY_CLAIM_IDLE_MS: z.coerce.number().int().min(100).default(30_000),
  /** How often tasks due within 24 h are looked for. */
  DUE_SOON_SCAN_MS: z.coerce.number().int().min(100).default(300_000),
  /** How often daily-digest emails go out (one a day). */
  DIGEST_EVERY_MS: z.coerce.number().int().min(100).default(86_400_000),
  /** Users written per step of a system broadcast. */
  BROADCAST_BATCH: z.coerce.number().int().min(1).max(1000).default(500),
};
