import type { Logger, UserContext } from '@tm/kit/infra';

/** What every gateway operation runs with; built the same way for HTTP and (later) sockets. */
export interface GatewayContext {
  user: UserContext;
  correlationId: string;
  log: Logger;
  /** The client's address (socket peer, or from X-Forwarded-For behind trusted proxies). */
  clientIp?: string | null;
  /**
   * `http` or `socket` for a client's own operation (rate limits and maintenance apply); unset for
   * operations the gateway runs itself (live payloads, presence heartbeats).
   */
  transport?: 'http' | 'socket';
}
