import { internalRoute, isId, PERMISSIONS_PATH, type RouteHandler } from '@tm/kit';
import type { PermissionCache } from './project-member/permission.cache';

/**
 * `GET /internal/permissions?userId=…`: the permissions client's fallback on a cache miss. Only
 * answers requests signed with the internal secret (other services), never clients.
 */
export function permissionsRoute(cache: PermissionCache, secret: string): Record<string, RouteHandler> {
  return {
    [PERMISSIONS_PATH]: internalRoute('projects', secret, async (query) => {
      const userId = query.get('userId');
      return isId(userId) ? { memberships: await cache.load(userId) } : null;
    }),
  };
}
