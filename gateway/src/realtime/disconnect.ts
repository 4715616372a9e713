import { randomUUID } from 'node:crypto';
import type { Redis } from '@tm/kit/infra';
import type { ChannelHub } from './channels';

/** Channel on which any gateway process asks all of them to close matching sockets. */
export const disconnectChannel = (prefix: string) => `${prefix}ops:disconnect`;
const countKey = (requestId: string) => `ops:disconnect:${requestId}`;

interface DisconnectCommand {
  requestId: string;
  userId: string | null;
  reason: string;
}

/**
 * Every gateway process listens; each closes its matching sockets and adds how many to a counter
 * the requester reads (several gateways share one Redis).
 */
export async function listenForDisconnects(
  hub: ChannelHub,
  prefix: string,
  redis: Redis,
  disconnect: (userId: string | null, reason: string) => number,
): Promise<() => Promise<void>> {
  return hub.listen(disconnectChannel(prefix), (message) => {
    if (!message || typeof message !== 'object') return;
    const cmd = message as DisconnectCommand;
    const n = disconnect(cmd.userId, cmd.reason);
    void redis
      .multi()
      .incrby(countKey(cmd.requestId), n)
      .expire(countKey(cmd.requestId), 60)
      .exec()
      .catch(() => undefined);
  });
}

/** Asks every gateway process to close the matching sockets; returns how many were closed. */
export async function requestDisconnect(
  redis: Redis,
  prefix: string,
  userId: string | null,
  reason: string,
  waitMs = 500,
): Promise<number> {
  const requestId = randomUUID();
  await redis.publish(disconnectChannel(prefix), JSON.stringify({ requestId, userId, reason } satisfies DisconnectCommand));
  await new Promise((r) => setTimeout(r, waitMs));
  return Number((await redis.get(countKey(requestId))) ?? 0);
}
