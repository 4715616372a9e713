import type { RouteHandler } from './http';
import { sendJson } from './http';
import type { Metrics } from './metrics';

export type ReadinessCheck = () => Promise<boolean>;

/** `/health` (process up), `/ready` (every named dependency answers), `/metrics`. */
export function standardRoutes(service: string, checks: Record<string, ReadinessCheck>, metrics: Metrics): Record<string, RouteHandler> {
  return {
    '/health': (_req, res) => sendJson(res, 200, { status: 'ok', service }),
    '/ready': async (_req, res) => {
      const names = Object.keys(checks);
      const results = await Promise.all(names.map((n) => checks[n]!().catch(() => false)));
      const deps = Object.fromEntries(names.map((n, i) => [n, results[i] ? 'up' : 'down']));
      const ok = results.every(Boolean);
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable', service, dependencies: deps });
    },
    '/metrics': async (_req, res) => {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(body);
    },
  };
}
