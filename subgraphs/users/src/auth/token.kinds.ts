/**
 * Every token users issues, and what tells them apart (RFC 8725 §3.11/§3.12): each kind has its
 * own JOSE `typ`, audience and algorithm, so none can stand in for another. The gateway accepts
 * only `ACCESS` (ES256, `at+jwt`, `tm-api`); refresh tokens are opaque (`<sessionId>.<secret>`).
 */
export const TOKEN_ISSUER = 'tm-users';

export const ACCESS = { typ: 'at+jwt', audience: 'tm-api', alg: 'ES256' } as const;

/** Proves "password checked, MFA enrollment still owed"; only startMfaEnrollment/confirmMfaEnrollment take it. */
export const MFA_STEP = { typ: 'mfa-step+jwt', audience: 'tm-users:mfa-enrollment', alg: 'HS256', ttlSeconds: 600 } as const;

/** The link of a password-reset email; single use (its jti's hash is stored) and bound to the token version. */
export const RESET = { typ: 'reset+jwt', audience: 'tm-users:password-reset', alg: 'HS256' } as const;
