import type { RouteHandler } from './http';
import { sendJson } from './http';
import { addGaugeSource, type Metrics } from './metrics';

export type ReadinessCheck = () => Promise<boolean>;

/** A check that has not answered by then counts as down (a scrape must not hang on a dead store). */
const SCRAPE_CHECK_TIMEOUT_MS = 2000;

/** Runs a check once, as up/down and how long it took (capped at the timeout). */
async function timedCheck(check: ReadinessCheck): Promise<{ up: boolean; seconds: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), SCRAPE_CHECK_TIMEOUT_MS);
  });
  const up = await Promise.race([check().catch(() => false), timeout]).finally(() => clearTimeout(timer));
  return { up, seconds: (performance.now() - started) / 1000 };
}

/**
 * `/health` (process up), `/ready` (every named dependency answers), `/metrics`. Each scrape also
 * runs the checks: `dependency_up{dependency}` (1/0, what the Redis/MongoDB-down alerts read) and
 * `dependency_check_duration_seconds{dependency}` (the round trip of that ping).
 */
export function standardRoutes(
  service: string,
  checks: Record<string, ReadinessCheck>,
  metrics: Metrics,
): Record<string, RouteHandler> {
  let round: Promise<Array<{ dependency: string; up: boolean; seconds: number }>> | undefined;
  // both gauges of one scrape share one round of checks
  const results = () =>
    (round ??= Promise.all(
      Object.entries(checks).map(async ([dependency, check]) => ({ dependency, ...(await timedCheck(check)) })),
    ).finally(() => setImmediate(() => (round = undefined))));
  addGaugeSource(
    metrics.registry,
    {
      name: 'dependency_up',
      help: 'Whether a dependency (mongo, redis) answered its readiness check at scrape time',
      labelNames: ['dependency'],
    },
    async () => (await results()).map((r) => ({ labels: { dependency: r.dependency }, value: r.up ? 1 : 0 })),
  );
  addGaugeSource(
    metrics.registry,
    {
      name: 'dependency_check_duration_seconds',
      help: 'Round trip of the readiness check of a dependency at scrape time',
      labelNames: ['dependency'],
    },
    async () => (await results()).map((r) => ({ labels: { dependency: r.dependency }, value: r.seconds })),
  );
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
