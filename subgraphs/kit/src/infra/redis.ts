import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from './logger';
import { retryDelay } from './backoff';
import type { RedisConfig } from './config';

export { Redis, Cluster };

/** Default bound of one Redis command (REDIS_COMMAND_TIMEOUT_MS). */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;

/**
 * How to reach Redis: one server (`url`), a Redis Cluster (`nodes`: some of its masters, the rest is
 * discovered) or a master found through Sentinels (`nodes`: the sentinels, `sentinelName`: the
 * master's name). Credentials and TLS apply to the data nodes; `sentinelPassword` to the sentinels.
 */
export interface RedisSettings {
  mode: 'standalone' | 'cluster' | 'sentinel';
  url?: string;
  nodes?: Array<{ host: string; port: number }>;
  sentinelName?: string;
  username?: string;
  password?: string;
  sentinelPassword?: string;
  tls?: boolean;
}

/** A redis:// URL (one server, as in tests and tools) or the settings from a service's config. */
export type RedisTarget = string | RedisSettings;

const hostPorts = (list: string) =>
  list.split(',').map((hp) => {
    const [host, port] = hp.trim().split(':');
    return { host: host!, port: Number(port) };
  });

/** The Redis settings of a (validated, see config.ts `checkRedisConfig`) service configuration. */
export function redisSettings(c: RedisConfig): RedisSettings {
  const auth = {
    ...(c.REDIS_USERNAME ? { username: c.REDIS_USERNAME } : {}),
    ...(c.REDIS_PASSWORD ? { password: c.REDIS_PASSWORD } : {}),
    ...(c.REDIS_TLS === 'true' ? { tls: true } : {}),
  };
  if (c.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes: hostPorts(c.REDIS_CLUSTER_NODES), ...auth };
  if (c.REDIS_SENTINELS) {
    return {
      mode: 'sentinel',
      nodes: hostPorts(c.REDIS_SENTINELS),
      sentinelName: c.REDIS_SENTINEL_NAME!,
      ...(c.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: c.REDIS_SENTINEL_PASSWORD } : {}),
      ...auth,
    };
  }
  return { mode: 'standalone', url: c.REDIS_URL!, ...auth };
}

const asSettings = (target: RedisTarget): RedisSettings =>
  typeof target === 'string' ? { mode: 'standalone', url: target } : target;

/**
 * A new ioredis connection to the target with the given client options. On a cluster it is an
 * ioredis `Cluster`, returned under the `Redis` type the services use: both have the same commands,
 * key prefix, events and pub/sub. Differences are bridged here and in `duplicateRedis`: the options
 * of the connection as a whole (key prefix, offline queue, reconnecting) are the cluster's, the rest
 * apply to each node's connection. Nodes keep their offline queue: a node connection is opened by
 * its first command (the cluster's commandTimeout still bounds every command).
 */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}): Redis {
  const s = asSettings(target);
  const auth: RedisOptions = {
    ...(s.username ? { username: s.username } : {}),
    ...(s.password ? { password: s.password } : {}),
    ...(s.tls ? { tls: {} } : {}),
  };
  if (s.mode === 'cluster') return new Cluster(s.nodes!, clusterOptions(options, auth)) as unknown as Redis;
  if (s.mode === 'sentinel') {
    return new Redis({
      ...options,
      ...auth,
      sentinels: s.nodes!,
      name: s.sentinelName!,
      ...(s.sentinelPassword ? { sentinelPassword: s.sentinelPassword } : {}),
      ...(s.tls ? { sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
      // the sentinels are asked again on every reconnect (a failover moves the master)
      sentinelRetryStrategy: (times: number) => retryDelay(times),
    });
  }
  return new Redis(s.url!, { ...options, ...auth });
}

function clusterOptions(options: RedisOptions, auth: RedisOptions): ClusterOptions {
  const { keyPrefix, enableOfflineQueue, lazyConnect, retryStrategy, ...node } = options;
  return {
    ...(keyPrefix !== undefined ? { keyPrefix } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    clusterRetryStrategy: (times) => (retryStrategy ? retryStrategy(times) : retryDelay(times)) ?? null,
    redisOptions: { ...node, ...auth },
  };
}

/** Whether the client is an ioredis Cluster (connectRedis on REDIS_CLUSTER_NODES). */
export function isCluster(client: Redis): boolean {
  return (client as unknown as { isCluster?: boolean }).isCluster === true;
}

/** A new connection like `client` (same target and options) with some options changed. */
export function duplicateRedis(client: Redis, override: Partial<RedisOptions> = {}): Redis {
  if (!isCluster(client)) return client.duplicate(override);
  const { lazyConnect, keyPrefix, enableOfflineQueue } = override;
  const top: Partial<ClusterOptions> = {
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(keyPrefix !== undefined ? { keyPrefix } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
  };
  return (client as unknown as Cluster).duplicate([], top) as unknown as Redis;
}

/**
 * An ioredis client under the deployment's key prefix. Commands fail at once while Redis is
 * down (no offline queue, one try), and after `commandTimeoutMs` while it hangs (a frozen process
 * keeps its connections open), so callers answer DB-001 instead of waiting; the client reconnects
 * with capped backoff, and a Redis that answers again serves the next command.
 */
export function createRedis(
  target: RedisTarget,
  prefix: string,
  log: Logger,
  name = 'main',
  opts: {
    commandTimeoutMs?: number;
    /**
     * ioredis auto-pipelining: the commands issued in one event-loop turn go to Redis in one
     * write. Not in cluster mode (ioredis groups auto-pipelines by slot there and still mis-groups
     * some scripted commands). Never define commands (`defineCommand`, e.g. a rate limiter's) on
     * such a client after its first command: ioredis copies a client's defined commands into each
     * auto-pipeline when it makes it, so a command defined later in a turn whose pipeline exists
     * lands on a pipeline without it, and ioredis throws out of its callback, ending the process.
     */
    autoPipelining?: boolean;
  } = {},
): Redis {
  const client = connectRedis(target, {
    ...(opts.autoPipelining && asSettings(target).mode !== 'cluster' ? { enableAutoPipelining: true } : {}),
    keyPrefix: prefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: opts.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS,
    retryStrategy: (times) => retryDelay(times),
    lazyConnect: false,
  });
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) log.warn({ redis: name, err: err.message }, 'redis unavailable');
    down = true;
  });
  client.on('ready', () => {
    if (down) log.info({ redis: name }, 'redis reconnected');
    down = false;
  });
  return client;
}

/**
 * A connection for BullMQ (queues and workers): no key prefix (BullMQ has its own `prefix`, which on
 * a cluster must be a hash tag: `<REDIS_PREFIX>bull` is one when REDIS_PREFIX is), and commands wait
 * while Redis is away instead of failing (`maxRetriesPerRequest: null`, as BullMQ requires).
 */
export function createQueueConnection(target: RedisTarget, log: Logger, name: string): Redis {
  const client = connectRedis(target, { maxRetriesPerRequest: null, retryStrategy: (times) => retryDelay(times) });
  client.on('error', (err: Error) => log.debug({ redis: name, err: err.message }, 'queue redis unavailable'));
  return client;
}

/** Resolves when the client is ready, or after the timeout (the service starts either way). */
export function redisReady(client: Redis, timeoutMs = 3000): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    t.unref();
    client.once('ready', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

export async function pingRedis(client: Redis): Promise<boolean> {
  if (client.status !== 'ready') return false;
  try {
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  }
}
