import { Redis } from 'ioredis';
import type { Logger } from './logger';
import { retryDelay } from './backoff';

export { Redis };

/** Default bound of one Redis command (REDIS_COMMAND_TIMEOUT_MS). */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;

/**
 * An ioredis client under the deployment's key prefix. Commands fail at once while Redis is
 * down (no offline queue, one try), and after `commandTimeoutMs` while it hangs (a frozen process
 * keeps its connections open), so callers answer DB-001 instead of waiting; the client reconnects
 * with capped backoff, and a Redis that answers again serves the next command.
 */
export function createRedis(
  url: string,
  prefix: string,
  log: Logger,
  name = 'main',
  opts: { commandTimeoutMs?: number } = {},
): Redis {
  const client = new Redis(url, {
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
