import path from 'node:path';
import { baseConfigSchema, portSchema } from '@tm/kit/infra';
import { z } from 'zod';

export const gatewayConfigSchema = baseConfigSchema.extend({
  PORT: portSchema(4000),
  /** The ops plane's own database (the audit log of every service). */
  MONGO_DB: z
    .string()
    .regex(/^[\w-]{1,60}$/, 'letters, digits, _ and -')
    .default('tm_ops'),
  /** Default per-client rate limit until an admin sets one (`setRateLimit`); 0 turns it off. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(1200),
  RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(300),
  /** Operation limits, checked before any subgraph is called (API-002). */
  OP_MAX_DEPTH: z.coerce.number().int().min(2).default(15),
  OP_MAX_ALIASES: z.coerce.number().int().min(0).default(30),
  OP_MAX_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  OP_MAX_ROOT_FIELDS: z.coerce.number().int().min(1).default(20),
  OP_MAX_TOKENS: z.coerce.number().int().min(100).default(5000),
  OP_MAX_COST: z.coerce.number().int().min(10).default(25_000),
  OP_DEFAULT_LIST_SIZE: z.coerce.number().int().min(1).default(5),
  SUPERGRAPH_PATH: z.string().default(path.resolve(__dirname, '../../schema/supergraph.graphql')),
  JWKS_URL: z.string().url().default('http://127.0.0.1:4001/.well-known/jwks.json'),
  CORS_ORIGINS: z
    .string()
    .default('https://studio.apollographql.com,https://sandbox.embed.apollographql.com')
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  /** `explorer` serves Apollo's embedded Explorer on GET /graphql; `off` serves nothing. */
  LANDING_PAGE: z.enum(['explorer', 'off']).optional(),
  /**
   * @apollo/gateway reports usage metrics to Apollo unless told not to, probing cloud metadata
   * endpoints (AWS, GCP, Azure, Alibaba) on the way. Off unless explicitly turned on.
   */
  APOLLO_TELEMETRY: z.enum(['on', 'off']).default('off'),
  /** Live endpoint (graphql-ws) limits, per gateway process. */
  LIVE_MAX_CONNECTIONS_PER_USER: z.coerce.number().int().min(1).default(20),
  LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).default(50),
  LIVE_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  /**
   * Subscription starts (each a supergraph query as the subscriber) running at once per connection
   * and per process; more wait in turn, and one whose client completes it while waiting never runs.
   * Keeps live events' resolution from queueing behind a flood of starts (subscribe/unsubscribe churn).
   */
  LIVE_MAX_CONCURRENT_STARTS: z.coerce.number().int().min(1).default(16),
  LIVE_MAX_CONCURRENT_STARTS_PER_CONNECTION: z.coerce.number().int().min(1).default(2),
  /** Starts waiting beyond this are refused with API-001 (retryAfter 1 s). */
  LIVE_MAX_WAITING_STARTS: z.coerce.number().int().min(1).default(10_000),
  /**
   * `subscribe` messages (subscriptions, or queries and mutations over the socket) a connection may
   * send per second on average and in a burst; beyond, API-001 with retryAfter, before any parsing.
   */
  LIVE_SUBSCRIBE_RATE: z.coerce.number().positive().default(10),
  LIVE_SUBSCRIBE_BURST: z.coerce.number().int().min(1).default(30),
  /** Events waiting for a slow subscriber before it is dropped. */
  LIVE_MAX_QUEUED_EVENTS: z.coerce.number().int().min(1).default(100),
  LIVE_MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /**
   * How often the token of every live connection is checked again, idle ones included: a revoked
   * token or ended session closes its socket (4403) within this interval.
   */
  LIVE_AUTH_RECHECK_SECONDS: z.coerce.number().int().min(1).max(3600).default(15),
  /** Presence heartbeat while a subscription on a project is open (presence expires after 60 s). */
  LIVE_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).default(20),
  /**
   * How long a user stays online on a project after their last subscription on it ended; back within
   * it (a reload, a resubscribing board), nobody sees them go offline. 0: offline at once.
   */
  LIVE_PRESENCE_GRACE_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  /**
   * `on`: per-event access checks from the permissions cache, and live payloads whose selection does
   * not depend on who asks resolved once per (event, selection, platform roles) for the project's members.
   * `off`: every subscriber's payload is resolved through the supergraph as that subscriber.
   */
  LIVE_SHARED_RESOLUTION: z.enum(['on', 'off']).default('on'),
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** `on`: identical query fetches in flight at once for the same user share one subgraph round trip. */
  SUBGRAPH_DEDUP: z.enum(['on', 'off']).default('off'),
  /** One subgraph request for a client request's entity fetches to that subgraph that are ready together. */
  SUBGRAPH_BATCHING: z.enum(['on', 'off']).default('on'),
  /**
   * `on`: the token checks' and live membership reads' Redis commands issued in one event-loop turn
   * go to Redis in one write (ioredis auto-pipelining on a connection of their own; never in cluster
   * mode). The rate limiter's scripts stay on the main connection.
   */
  REDIS_AUTO_PIPELINING: z.enum(['on', 'off']).default('on'),
  /**
   * `on`: the live engine's membership checks are answered from a copy in the process that Redis
   * keeps exact (CLIENT TRACKING, broadcast on the permissions keys: every change drops the copy);
   * while tracking is not confirmed, and on a Redis Cluster, every check reads Redis.
   */
  PERMISSIONS_LOCAL_CACHE: z.enum(['on', 'off']).default('on'),
  // who runs query plans: our executor (gateway/src/executor) or @apollo/gateway's own
  GATEWAY_EXECUTOR: z.enum(['fast', 'apollo']).default('fast'),
  /**
   * How many reverse proxies in front of the gateway append to `X-Forwarded-For`. 0 (default):
   * the client address is the socket's peer and the header is ignored (a client could forge it).
   */
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

/** A subgraph's URL: `<NAME>_URL` from the environment, else the one in the supergraph. */
export function subgraphUrl(name: string, fromSupergraph: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = env[`${name.toUpperCase()}_URL`] ?? fromSupergraph;
  if (!url) throw new Error(`no URL for subgraph ${name}: set ${name.toUpperCase()}_URL`);
  return url;
}
