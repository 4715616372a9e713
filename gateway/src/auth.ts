import { createRemoteJWKSet, jwtVerify, errors as joseErrors } from 'jose';
import { ANONYMOUS, AppError, ErrorCode, RedisKeys, type Redis, type UserContext } from '@tm/kit';

export const TOKEN_ISSUER = 'tm-users';
export const TOKEN_AUDIENCE = 'tm-api';
/** Only the algorithm users signs with is accepted (RFC 8725: allow-list, never trust `alg`). */
const ALGORITHMS = ['ES256'];

function tokenInvalid(message = 'Access token invalid or expired'): AppError {
  return new AppError(ErrorCode.TokenInvalid, message);
}

/**
 * Turns an `Authorization` header into the user context (DESIGN.md §3.3): the JWT is verified
 * against the users JWKS (an unknown `kid` refetches it), then checked for revocation in Redis
 * (token version and ended sessions). No header → anonymous; a bad one → `AUTH-002`.
 */
export function createAuthenticator(jwksUrl: string, redis: Redis) {
  const jwks = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 5_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 3_000 });
  return async (authorization: string | undefined): Promise<UserContext> => {
    if (!authorization) return ANONYMOUS;
    const m = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(authorization.trim());
    if (!m) throw tokenInvalid('Authorization header must be "Bearer <access token>"');
    let payload;
    try {
      ({ payload } = await jwtVerify(m[1]!, jwks, {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: ALGORITHMS,
        typ: 'at+jwt',
        clockTolerance: 5,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWKSTimeout || (err instanceof Error && /fetch|ECONNREFUSED/i.test(err.message))) {
        throw new AppError(ErrorCode.ServiceUnavailable, 'Authentication service unavailable');
      }
      throw tokenInvalid();
    }
    const userId = typeof payload.sub === 'string' ? payload.sub : null;
    const sessionId = typeof payload.sid === 'string' ? payload.sid : null;
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r: unknown): r is string => typeof r === 'string') : [];
    if (!userId || !sessionId) throw tokenInvalid();
    // fail closed: without Redis, revocation cannot be checked
    const [version, revoked] = await redis.mget(RedisKeys.tokenVersion(userId), RedisKeys.revokedSession(sessionId));
    if (revoked) throw tokenInvalid('Session has ended');
    if (version !== null && Number(payload.tv ?? 0) < Number(version)) throw tokenInvalid('Access token revoked');
    return { userId, roles, sessionId };
  };
}
export type Authenticator = ReturnType<typeof createAuthenticator>;
