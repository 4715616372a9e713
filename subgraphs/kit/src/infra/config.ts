import { z } from 'zod';

/** An unset variable and an empty one (`VAR=` in a compose file) mean the same. */
const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);
const optionalUrl = z.preprocess(emptyToUndefined, z.string().url('must be a URL').optional());

/**
 * Who may read `/metrics` (metrics.ts, http.ts). `METRICS_PORT` (or `<SERVICE>_METRICS_PORT`):
 * served only there, on its own listener bound to `METRICS_HOST` (default HOST), never on the
 * service's port. `METRICS_TOKEN`: only with `Authorization: Bearer <token>`. With neither, on the
 * service's port for anyone, except in production, where it is then not served at all.
 */
function metricsConfigShape() {
  return {
    METRICS_PORT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(65535).optional()),
    METRICS_HOST: z.preprocess(emptyToUndefined, z.string().optional()),
    METRICS_TOKEN: z.preprocess(emptyToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
    /** Distinct operation names `graphql_operations_total` counts under their own name; the rest are `other`. */
    METRICS_MAX_OPERATION_NAMES: z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).max(10_000).default(200)),
  };
}

export interface MetricsSettings {
  /** A listener of its own for `/metrics` (internal); unset: the service's own port. */
  port?: number;
  host: string;
  token?: string;
  /** Production without port or token: `/metrics` is not served. */
  production: boolean;
  maxOperationNames: number;
}

/** The metrics settings of a service from its environment (`<SERVICE>_METRICS_PORT` before `METRICS_PORT`). */
export function metricsSettings(service: string, env: NodeJS.ProcessEnv): MetricsSettings {
  const own = env[`${service.toUpperCase()}_METRICS_PORT`];
  const parsed = z
    .object({ ...metricsConfigShape(), HOST: z.string().default('127.0.0.1'), NODE_ENV: z.string().optional() })
    .safeParse({ ...env, METRICS_PORT: own ?? env.METRICS_PORT });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return {
    ...(c.METRICS_PORT ? { port: c.METRICS_PORT } : {}),
    host: c.METRICS_HOST ?? c.HOST,
    ...(c.METRICS_TOKEN ? { token: c.METRICS_TOKEN } : {}),
    production: c.NODE_ENV === 'production',
    maxOperationNames: c.METRICS_MAX_OPERATION_NAMES,
  };
}

/** `host:port,host:port,…` (REDIS_CLUSTER_NODES, REDIS_SENTINELS). */
const HOST_PORT_LIST = /^\s*[^\s,:]+:\d{1,5}\s*(,\s*[^\s,:]+:\d{1,5}\s*)*$/;

/**
 * Where Redis is (redis.ts `redisSettings`): one server at REDIS_URL, a Redis Cluster
 * (REDIS_CLUSTER_NODES) or a master watched by Sentinels (REDIS_SENTINELS + REDIS_SENTINEL_NAME).
 * On a cluster, REDIS_PREFIX must be a hash tag (e.g. `{tm}:`): every key of the deployment is then
 * in one slot, so multi-key commands, transactions, Lua scripts and BullMQ queues work unchanged.
 */
export function redisConfigShape() {
  const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
  return {
    REDIS_URL: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// URL')
        .optional(),
    ),
    REDIS_PREFIX: z
      .string()
      .regex(/^[\w.:{}-]{0,100}$/, 'letters, digits and . _ : - { }')
      .default('tm:'),
    REDIS_CLUSTER_NODES: z.preprocess(emptyToUndefined, z.string().regex(HOST_PORT_LIST, 'host:port,host:port,…').optional()),
    REDIS_SENTINELS: z.preprocess(emptyToUndefined, z.string().regex(HOST_PORT_LIST, 'host:port,host:port,…').optional()),
    REDIS_SENTINEL_NAME: optionalString,
    REDIS_USERNAME: optionalString,
    REDIS_PASSWORD: optionalString,
    REDIS_SENTINEL_PASSWORD: optionalString,
    REDIS_TLS: z.preprocess(emptyToUndefined, z.enum(['true', 'false']).optional()),
  };
}

/** Settings every service reads. Each service extends this with its own. */
export const baseConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URL'),
  ...redisConfigShape(),
  /** HMAC key for the user context the gateway signs for subgraphs (README: Security). */
  INTERNAL_SECRET: z.string().min(32, 'must be at least 32 characters'),
  /** Introspection is decided here, never by Apollo's NODE_ENV default. */
  GRAPHQL_INTROSPECTION: z.enum(['true', 'false']).optional(),
  /**
   * How long a Redis command may take before it fails (DB-001): a Redis that hangs instead of closing
   * must not hang requests. The connection stays; late replies are dropped.
   */
  REDIS_COMMAND_TIMEOUT_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(100).max(60_000).default(2000)),
  /**
   * The same for the store: socket, connect and server-selection timeouts of the driver and the
   * server-side `maxTimeMS` of queries (DB-001 within about this long while it does not answer).
   */
  MONGO_TIMEOUT_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(100).max(120_000).default(2000)),
  /**
   * How old a signed context (gateway → subgraph) or internal request (service → service) may be.
   * Each is also bound to its target service and request body, so a captured one replays nothing else.
   */
  SIGNED_CONTEXT_MAX_AGE_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1000).max(60_000).default(15_000)),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /**
   * Retention of the domain streams a service publishes (`events:{service}`): about this many
   * entries are kept (approximate trimming), 0 keeps every entry. Consumers that rebuild from the
   * stream (analytics) can replay only what is kept (README: Analytics).
   */
  EVENTS_STREAM_MAXLEN: z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).default(1_000_000)),
  /**
   * OpenTelemetry traces (tracing.ts): nothing is registered unless one of the two OTLP endpoints
   * is set. `…_TRACES_ENDPOINT` is used as is; `…_ENDPOINT` gets `/v1/traces` appended.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalUrl,
  /**
   * The standard sampler names, as a default rate: `…always_on` = 1, `…always_off` = 0,
   * `…traceidratio` (or unset) = OTEL_TRACES_SAMPLER_ARG. Sampling is always parent-based here
   * (a trace is whole or absent), with or without the `parentbased_` prefix.
   */
  OTEL_TRACES_SAMPLER: z.preprocess(
    emptyToUndefined,
    z
      .enum([
        'always_on',
        'always_off',
        'traceidratio',
        'parentbased_always_on',
        'parentbased_always_off',
        'parentbased_traceidratio',
      ])
      .optional(),
  ),
  /** Sampling rate (0–1) of a service while no `setTraceSampling` override applies; 0 = only on demand. */
  OTEL_TRACES_SAMPLER_ARG: z.preprocess(emptyToUndefined, z.coerce.number().min(0).max(1).default(0)),
  /** `true` turns tracing off even with an endpoint (the standard OpenTelemetry switch). */
  OTEL_SDK_DISABLED: z.preprocess(emptyToUndefined, z.enum(['true', 'false']).optional()),
  ...metricsConfigShape(),
});
export type BaseConfig = z.infer<typeof baseConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses and validates the environment once, at start. A bad value throws a ConfigError
 * naming every offending variable (never its value: it may be a secret).
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  const lines = parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
  // a schema with the Redis settings: one way to reach Redis, and a prefix that suits it
  if (schema instanceof z.ZodObject && 'REDIS_PREFIX' in schema.shape) {
    const redis = z.object(redisConfigShape()).safeParse(env);
    const problem = redis.success ? checkRedisConfig(redis.data) : null;
    if (problem) lines.push(`  ${problem}`);
  }
  if (!parsed.success || lines.length > 0) throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  return parsed.data;
}

export type RedisConfig = z.infer<z.ZodObject<ReturnType<typeof redisConfigShape>>>;

/** What is wrong with the Redis settings as a whole, or null (names variables, never values). */
export function checkRedisConfig(c: RedisConfig): string | null {
  const ways = [c.REDIS_CLUSTER_NODES, c.REDIS_SENTINELS].filter(Boolean).length;
  if (ways > 1) return 'REDIS_CLUSTER_NODES, REDIS_SENTINELS: set one of them, not both';
  if (ways === 0 && !c.REDIS_URL)
    return 'REDIS_URL: required (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS with REDIS_SENTINEL_NAME)';
  if (c.REDIS_SENTINELS && !c.REDIS_SENTINEL_NAME)
    return "REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the monitored master's name)";
  if (c.REDIS_CLUSTER_NODES && !hasHashTag(c.REDIS_PREFIX)) {
    return 'REDIS_PREFIX: on a Redis Cluster it must contain a hash tag, e.g. {tm}: (all keys in one slot)';
  }
  return null;
}

/** Whether keys under `prefix` all hash to one cluster slot: its first `{` opens a non-empty `{…}`. */
export function hasHashTag(prefix: string): boolean {
  return /^[^{]*\{[^}]+\}/.test(prefix);
}

/** The port of a service: `<NAME>_PORT`, else `PORT`, else its default from schema/subgraphs.json (users 4001 … analytics 4006). */
export function portSchema(defaultPort: number) {
  return z.coerce.number().int().min(0).max(65535).default(defaultPort);
}

export function introspectionEnabled(cfg: Pick<BaseConfig, 'GRAPHQL_INTROSPECTION' | 'NODE_ENV'>): boolean {
  return cfg.GRAPHQL_INTROSPECTION ? cfg.GRAPHQL_INTROSPECTION === 'true' : cfg.NODE_ENV !== 'production';
}
