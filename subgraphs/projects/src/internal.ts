import { INTERNAL_HEADER, isId, PERMISSIONS_PATH, sendJson, verifyInternal, type RouteHandler } from '@tm/kit';
import type { PermissionCache } from './membership/permission-cache';

/**
 * `GET /internal/permissions?userId=…`: the permissions client's fallback on a cache miss. Only
 * answers requests signed with the internal secret (other services), never clients.
 */
export function permissionsRoute(cache: PermissionCache, secret: string): Record<string, RouteHandler> {
  return {
    [PERMISSIONS_PATH]: async (req, res) => {
      const header = req.headers[INTERNAL_HEADER];
      if (!verifyInternal(Array.isArray(header) ? header[0] : header, req.url ?? '', secret)) {
        sendJson(res, 401, { error: 'unauthorized' });
        return;
      }
      const userId = new URL(req.url ?? '/', 'http://internal').searchParams.get('userId');
      if (!isId(userId)) {
        sendJson(res, 400, { error: 'userId must be an id' });
        return;
      }
      try {
        sendJson(res, 200, { memberships: await cache.load(userId) });
      } catch {
        sendJson(res, 503, { error: 'unavailable' });
      }
    },
  };
}
