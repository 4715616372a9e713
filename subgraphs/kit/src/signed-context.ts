import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the user context the gateway signed for a subgraph (DESIGN.md §3.4). */
export const CONTEXT_HEADER = 'x-tm-context';
export const CORRELATION_HEADER = 'x-correlation-id';

/** Who is asking, as established by the gateway. Anonymous: `userId` null. */
export interface UserContext {
  userId: string | null;
  roles: string[];
  sessionId: string | null;
}

export interface SignedContext extends UserContext {
  correlationId: string;
  /**
   * The client's network address as the gateway saw it (for per-address limits such as
   * brute-force protection). Optional: absent from older gateways and internal calls.
   */
  clientIp?: string;
  /** Signing time, ms since epoch. */
  ts: number;
}

export const ANONYMOUS: UserContext = Object.freeze({ userId: null, roles: [], sessionId: null }) as UserContext;

function mac(secret: string, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

/** `v1.<base64url payload>.<base64url hmac>` */
export function signContext(
  ctx: UserContext & { correlationId: string; clientIp?: string | null },
  secret: string,
  now = Date.now(),
): string {
  const payload: SignedContext = {
    userId: ctx.userId,
    roles: ctx.roles,
    sessionId: ctx.sessionId,
    correlationId: ctx.correlationId,
    ...(ctx.clientIp ? { clientIp: ctx.clientIp } : {}),
    ts: now,
  };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `v1.${body}.${mac(secret, `v1.${body}`).toString('base64url')}`;
}

/** The context if the header is signed with `secret` and at most `maxAgeMs` old; otherwise null. */
export function verifyContext(header: string | undefined, secret: string, maxAgeMs = 60_000, now = Date.now()): SignedContext | null {
  if (!header || header.length > 8192) return null;
  const parts = header.split('.');
  if (parts.length !== 3 || parts[0] !== 'v1') return null;
  const expected = mac(secret, `v1.${parts[1]}`);
  const given = Buffer.from(parts[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let payload: SignedContext;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as SignedContext;
  } catch {
    return null;
  }
  if (typeof payload.ts !== 'number' || Math.abs(now - payload.ts) > maxAgeMs) return null;
  if (!Array.isArray(payload.roles)) return null;
  if (payload.clientIp !== undefined && (typeof payload.clientIp !== 'string' || payload.clientIp.length > 100)) return null;
  return payload;
}

const CORRELATION_RE = /^[\w.:-]{1,100}$/;

/** A client's correlation id when it is well-formed, else a new one. */
export function correlationIdFrom(value: string | string[] | undefined, make: () => string): string {
  const v = Array.isArray(value) ? value[0] : value;
  return v && CORRELATION_RE.test(v) ? v : make();
}

/** Header on service-to-service calls (e.g. the permissions endpoint of projects). */
export const INTERNAL_HEADER = 'x-tm-internal';

/** Signs an internal request for `pathWithQuery`: `v1.<ts>.<hmac>`. */
export function signInternal(pathWithQuery: string, secret: string, now = Date.now()): string {
  return `v1.${now}.${mac(secret, `internal|${now}|${pathWithQuery}`).toString('base64url')}`;
}

/** True when the header signs exactly this path and query, recently. */
export function verifyInternal(header: string | undefined, pathWithQuery: string, secret: string, maxAgeMs = 30_000, now = Date.now()): boolean {
  const m = header ? /^v1\.(\d{1,15})\.([\w-]+)$/.exec(header) : null;
  if (!m) return false;
  const ts = Number(m[1]);
  if (Math.abs(now - ts) > maxAgeMs) return false;
  const expected = mac(secret, `internal|${ts}|${pathWithQuery}`);
  const given = Buffer.from(m[2]!, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
