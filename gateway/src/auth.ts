import type { IncomingMessage } from 'node:http';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  jwtVerify,
  errors as joseErrors,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError, ErrorCode } from '@tm/kit/contracts';
import { ANONYMOUS, type Redis, RedisKeys, type UserContext } from '@tm/kit/infra';

export const TOKEN_ISSUER = 'tm-users';
export const TOKEN_AUDIENCE = 'tm-api';
/** JOSE `typ` of access tokens (RFC 9068); MFA-step and reset tokens carry other types and audiences. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** Only the algorithm users signs with is accepted (RFC 8725: allow-list, never trust `alg`). */
const ALGORITHMS = ['ES256'];
const JWKS_COOLDOWN_MS = 1_000;
const JWKS_MAX_AGE_MS = 60_000;
const CLOCK_TOLERANCE_S = 5;
const JWKS_TIMEOUT_MS = 3_000;
/** How many tokens' verified signatures are kept (each for the JWKS's max age, never past expiry). */
const VERIFIED_MAX = 50_000;

function tokenInvalid(message = 'Access token invalid or expired'): AppError {
  return new AppError(ErrorCode.TokenInvalid, message);
}

/**
 * Turns an `Authorization` header into the user context (README: Security): the JWT is verified
 * against the users JWKS (an unknown `kid` refetches it), then checked for revocation in Redis
 * (token version and ended sessions; no version in Redis counts as revoked). No header →
 * anonymous; a bad one → `AUTH-002`.
 */
/**
 * `lookupTokenVersion`: asks users for a user's token version when Redis has none (users writes it
 * back); null = no such account.
 */
export function createAuthenticator(
  jwksUrl: string,
  redis: Redis,
  lookupTokenVersion?: (userId: string) => Promise<number | null>,
  opts: { jwksMaxAgeMs?: number; jwksTimeoutMs?: number } = {},
) {
  const maxAgeMs = opts.jwksMaxAgeMs ?? JWKS_MAX_AGE_MS;
  // An unknown `kid` (a key rotated in moments ago) refetches the JWKS; the cooldown bounds how
  // often forged kids can make us fetch (once per second).
  const jwks = createRemoteJWKSet(new URL(jwksUrl), {
    cooldownDuration: JWKS_COOLDOWN_MS,
    cacheMaxAge: maxAgeMs,
    timeoutDuration: opts.jwksTimeoutMs ?? JWKS_TIMEOUT_MS,
  });
  // Due for a refresh: it runs in the background and the keys fetched last verify meanwhile, so
  // users being slow or down (its store frozen, say) never holds or fails the check of a token
  // signed by a key we know. A kid we do not know still waits for a fetch (and fails without one).
  let refreshTried = 0;
  // the keys held while the copy is due (jose's `jwks()` hands out a clone: made once, not per token;
  // dropped as soon as a refresh succeeded)
  let stale: ReturnType<typeof createLocalJWKSet> | null = null;
  const keys: JWTVerifyGetKey = async (...args: Parameters<JWTVerifyGetKey>) => {
    if (jwks.fresh) {
      stale = null;
      return jwks(...args);
    }
    if (!stale) {
      const known = jwks.jwks();
      if (!known) return jwks(...args); // never fetched: nothing to fall back on
      stale = createLocalJWKSet(known);
    }
    // one background refresh at a time, at most one a second while users keeps failing
    if (!jwks.reloading && Date.now() - refreshTried >= JWKS_COOLDOWN_MS) {
      refreshTried = Date.now();
      jwks.reload().catch(() => undefined);
    }
    try {
      return await stale(...args);
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey) return jwks(...args);
      throw err;
    }
  };
  const verifySignature = (token: string) =>
    jwtVerify(token, keys, {
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      algorithms: ALGORITHMS,
      typ: ACCESS_TOKEN_TYP,
      clockTolerance: CLOCK_TOLERANCE_S,
    });
  // A token whose signature and claims were verified is not verified again for VERIFIED_TTL_MS
  // (the JWKS itself is trusted that long: a key removed from it stops working within that time
  // either way) nor past its expiry. Revocation is still checked in Redis on every request.
  const verified = new Map<string, { payload: JWTPayload; until: number }>();
  const verify = async (token: string): Promise<{ payload: JWTPayload }> => {
    const now = Date.now();
    const hit = verified.get(token);
    if (hit && hit.until > now) return hit;
    const { payload } = await verifySignature(token);
    const expires = typeof payload.exp === 'number' ? (payload.exp + CLOCK_TOLERANCE_S) * 1000 : now;
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, { payload, until: Math.min(expires, now + maxAgeMs) });
    return { payload };
  };
  return async (authorization: string | undefined): Promise<UserContext> => {
    if (!authorization) return ANONYMOUS;
    const m = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(authorization.trim());
    if (!m) throw tokenInvalid('Authorization header must be "Bearer <access token>"');
    let payload;
    try {
      try {
        ({ payload } = await verify(m[1]!));
      } catch (err) {
        // a kid we have not seen while the JWKS was refetched within the cooldown: wait it out
        // once, so a token from a freshly rotated key verifies at once instead of failing
        if (!(err instanceof joseErrors.JWKSNoMatchingKey) || !jwks.coolingDown) throw err;
        await new Promise((r) => setTimeout(r, JWKS_COOLDOWN_MS));
        ({ payload } = await verify(m[1]!));
      }
    } catch (err) {
      // the JWKS could not be fetched (no answer, not 200, not JSON): the token may be fine
      if (
        err instanceof joseErrors.JWKSTimeout ||
        (err instanceof Error && /fetch|ECONNREFUSED|JSON Web Key Set HTTP response/i.test(err.message))
      ) {
        throw new AppError(ErrorCode.ServiceUnavailable, 'Authentication service unavailable');
      }
      throw tokenInvalid();
    }
    const userId = typeof payload.sub === 'string' ? payload.sub : null;
    const sessionId = typeof payload.sid === 'string' ? payload.sid : null;
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r: unknown): r is string => typeof r === 'string') : [];
    if (!userId || !sessionId) throw tokenInvalid();
    // fail closed: without Redis, revocation cannot be checked
    const [stored, revoked] = await redis.mget(RedisKeys.tokenVersion(userId), RedisKeys.revokedSession(sessionId));
    if (revoked) throw tokenInvalid('Session has ended');
    // users writes the version before it hands out a token, and never lowers it; a missing one
    // (Redis lost it) is not "nothing revoked": users looks it up in its store and writes it again
    let version: number | null = stored === null ? null : Number(stored);
    if (version === null && lookupTokenVersion) version = await lookupTokenVersion(userId);
    if (version === null) throw tokenInvalid('Access token cannot be checked; refresh it');
    if (Number(payload.tv ?? 0) < version) throw tokenInvalid('Access token revoked');
    return { userId, roles, sessionId };
  };
}
export type Authenticator = ReturnType<typeof createAuthenticator>;

/**
 * The client's address: the socket peer, or, behind `trustedProxies` reverse proxies, the
 * `X-Forwarded-For` entry that the outermost trusted proxy added (entries further left are
 * whatever the client sent, so they are never trusted).
 */
export function clientAddress(req: IncomingMessage, trustedProxies: number): string | null {
  let ip = req.socket.remoteAddress ?? null;
  if (trustedProxies > 0) {
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const fromProxy = hops[hops.length - trustedProxies];
    if (fromProxy && /^[\w.:%-]{2,64}$/.test(fromProxy)) ip = fromProxy;
  }
  // an IPv4 client on a dual-stack socket: count it under its plain IPv4 address
  return ip?.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
