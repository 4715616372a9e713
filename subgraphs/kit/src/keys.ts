/**
 * Redis key names shared between services (all under the deployment's REDIS_PREFIX).
 * One place, so the writer and the readers cannot drift apart.
 */
export const RedisKeys = {
  /** Current token version of a user; access tokens carrying an older one are revoked. Written by users. */
  tokenVersion: (userId: string) => `auth:tokenver:${userId}`,
  /** Present while a session's access tokens are revoked (logout, reuse detection). Written by users. */
  revokedSession: (sessionId: string) => `auth:revoked-session:${sessionId}`,
  /** A user's project memberships, `projectId → {role, archived}` (hash). Written by projects, read by all. */
  permissions: (userId: string) => `permissions:${userId}`,
  /** A user's online flag per project (presence). */
  presence: (userId: string) => `presence:user:${userId}`,
} as const;
