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
  /** Present while a user is online in any project (expires with the last heartbeat). */
  presence: (userId: string) => `presence:user:${userId}`,
  /** Who is online in a project: userId → expiry (ms), sorted set. */
  projectPresence: (projectId: string) => `presence:project:${projectId}`,
  /** Where a user is online: projectId → expiry (ms), sorted set. */
  userPresence: (userId: string) => `presence:user-projects:${userId}`,
  /**
   * What keeps a user online in a project: holder → expiry (ms), sorted set. A holder is a gateway
   * process (for its subscribers) or a client's own `clientId`; the user goes offline when the last
   * one leaves or expires.
   */
  presenceHolders: (projectId: string, userId: string) => `presence:holders:${projectId}:${userId}`,
  /** Projects that currently have someone online (for the expiry sweep). */
  presenceProjects: () => 'presence:projects',
} as const;
