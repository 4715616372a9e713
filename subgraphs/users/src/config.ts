import { type BaseConfig, ConfigError, encryptionKeysSchema } from '@tm/kit/infra';
import { z } from 'zod';
import { passwordProblem } from './password/password.rules';

/** docker-compose passes `${VAR:-}` as an empty string: treat it as not set. */
const emptyAsUnset = (v: unknown) => (v === '' ? undefined : v);

/** The users subgraph's own settings, on top of the kit's base config. */
export const usersConfigShape = {
  /** Lifetime of access tokens. Short is safe (clients refresh); 10 s is the floor so tests can watch keys expire. */
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(3600).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(90).default(30),
  /** A refresh token used again this soon after its rotation (two tabs, a retry) gets the same successor instead of ending the session; 0 = strict. */
  REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(5),
  /** Keys for secrets at rest (MFA secrets, private signing keys, event payloads): `kid:base64key,…`, first active. Required. */
  ENCRYPTION_KEYS: encryptionKeysSchema,
  /** How often each process re-reads the signing keys (rotations by other processes). */
  SIGNING_KEY_RELOAD_SECONDS: z.coerce.number().int().min(1).max(300).default(60),
  /** Failed sign-ins per account (by email, known or not) before further attempts are refused. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).max(1000).default(5),
  /** Failed sign-ins per client address before further attempts from it are refused. */
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100_000).default(100),
  /** The window both failure counts live in. */
  LOGIN_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
  /** Registrations (any outcome, `register` says when an email is taken) per client address per window. */
  REGISTER_MAX_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(10),
  /** Registrations per email (hashed; known or not) per window. */
  REGISTER_MAX_PER_EMAIL: z.coerce.number().int().min(1).max(1000).default(3),
  /** The window both registration counts live in. */
  REGISTER_WINDOW_SECONDS: z.coerce.number().int().min(10).max(86_400).default(3600),
  /** Every registration answers no sooner than this, a new account or a taken email alike (hides the difference in work). */
  REGISTER_MIN_RESPONSE_MS: z.coerce.number().int().min(0).max(5000).default(250),
  PASSWORD_RESET_TTL_MINUTES: z.coerce.number().int().min(5).max(1440).default(30),
  /** Issuer label authenticator apps show next to the account. */
  /** The projects subgraph: permission-cache misses (presence checks membership). */
  PROJECTS_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
  /** Presence expires this long after the last heartbeat. */
  PRESENCE_TTL_SECONDS: z.coerce.number().int().min(2).max(600).default(60),
  MFA_ISSUER: z.string().min(1).max(60).default('Task Manager'),
  /** The first administrator, created at start when no ADMIN exists. Both or neither (empty = unset). */
  ADMIN_EMAIL: z.preprocess(emptyAsUnset, z.string().email('must be an email address').max(254).optional()),
  ADMIN_PASSWORD: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .optional()
      .superRefine((v, ctx) => {
        const problem = v === undefined ? null : passwordProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  ),
};

export type UsersConfig = BaseConfig & {
  [K in keyof typeof usersConfigShape]: z.infer<(typeof usersConfigShape)[K]>;
};

/** Checks that need more than one variable; throws a ConfigError naming them. */
export function checkUsersEnv(env: NodeJS.ProcessEnv): void {
  if (Boolean(env.ADMIN_EMAIL) !== Boolean(env.ADMIN_PASSWORD)) {
    throw new ConfigError('invalid configuration:\n  ADMIN_EMAIL, ADMIN_PASSWORD: set both or neither');
  }
}
