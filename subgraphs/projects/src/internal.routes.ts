import { isId, PERMISSIONS_PATH } from '@tm/kit/contracts';
import { internalRoute, type RouteHandler } from '@tm/kit/infra';
import type { PermissionCache } from './project-member/permission.cache';

/** Every internal (service-to-service) route of projects: signed requests of other services only, never clients. */
export function internalRoutes(cache: PermissionCache, secret: string): Record<string, RouteHandler> {
  return {
    /** `GET /internal/permissions?userId=…`: the permissions client's fallback on a cache miss. */
    [PERMISSIONS_PATH]: internalRoute('projects', secret, async (query) => {
      const userId = query.get('userId');
      return isId(userId) ? { memberships: await cache.load(userId) } : null;
    }),
  };
}
