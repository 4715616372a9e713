import { createHmac, hash, timingSafeEqual } from 'node:crypto';

/** Header carrying the user context the gateway signed for a subgraph (README: Security). */
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
  /** The service it was signed for (`users`, `projects`, …): another service refuses it. */
  aud: string;
  /** base64url SHA-256 of the exact request body it was signed with: another body is refused. */
  bh: string;
}

/** What a signed context is bound to: the service it is sent to and the exact body it is sent with. */
export interface SignTarget {
  service: string;
  body: string;
}

/** Default age limit of signed contexts and internal requests (SIGNED_CONTEXT_MAX_AGE_MS). */
export const SIGNED_CONTEXT_MAX_AGE_MS = 15_000;

/** base64url SHA-256 of a request body, as bound into a signed context. */
export function bodyHash(body: string): string {
  // one-shot (no Hash object): this runs for every subgraph fetch and on every subgraph request
  return hash('sha256', body, 'base64url');
}

export const ANONYMOUS: UserContext = Object.freeze({ userId: null, roles: [], sessionId: null }) as UserContext;

function mac(secret: string, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

/**
 * `v1.<base64url payload>.<base64url hmac>`, for one request: the payload names the target service
 * and the hash of the body, so the header is good for that service and that body only, briefly.
 */
export function signContext(
  ctx: UserContext & { correlationId: string; clientIp?: string | null },
  secret: string,
  target: SignTarget,
  now = Date.now(),
): string {
  const payload: SignedContext = {
    userId: ctx.userId,
    roles: ctx.roles,
    sessionId: ctx.sessionId,
    correlationId: ctx.correlationId,
    ...(ctx.clientIp ? { clientIp: ctx.clientIp } : {}),
    ts: now,
    aud: target.service,
    bh: bodyHash(target.body),
  };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `v1.${body}.${mac(secret, `v1.${body}`).toString('base64url')}`;
}

/**
 * The context if the header is signed with `secret`, for `target.service` and exactly
 * `target.body`, and at most `maxAgeMs` old; otherwise null.
 */
export function verifyContext(
  header: string | undefined,
  secret: string,
  target: SignTarget,
  maxAgeMs = SIGNED_CONTEXT_MAX_AGE_MS,
  now = Date.now(),
): SignedContext | null {
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
  // bound to this service and this body (both inside the MAC'd payload)
  if (payload.aud !== target.service || payload.bh !== bodyHash(target.body)) return null;
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

/** Signs an internal request to `service` for `pathWithQuery`: `v2.<ts>.<hmac>`. */
export function signInternal(service: string, pathWithQuery: string, secret: string, now = Date.now()): string {
  return `v2.${now}.${mac(secret, `internal|${service}|${now}|${pathWithQuery}`).toString('base64url')}`;
}

/** True when the header signs exactly this service, path and query, recently. */
export function verifyInternal(
  header: string | undefined,
  service: string,
  pathWithQuery: string,
  secret: string,
  maxAgeMs = SIGNED_CONTEXT_MAX_AGE_MS,
  now = Date.now(),
): boolean {
  const m = header ? /^v2\.(\d{1,15})\.([\w-]+)$/.exec(header) : null;
  if (!m) return false;
  const ts = Number(m[1]);
  if (Math.abs(now - ts) > maxAgeMs) return false;
  const expected = mac(secret, `internal|${service}|${ts}|${pathWithQuery}`);
  const given = Buffer.from(m[2]!, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
