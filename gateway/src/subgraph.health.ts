import { type RouteHandler, sendJson } from '@tm/kit/infra';
import type { SubgraphInfo } from './supergraph';

export interface QueueDepth {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
}

export interface SubgraphHealth {
  name: string;
  url: string;
  status: 'up' | 'down';
  latencyMs: number | null;
  /** What its `/ready` reported of each dependency (mongo, redis, and e.g. storage, scanner): `up` or `down`. */
  dependencies: Array<{ name: string; status: string }>;
  /** Its job queues' depth, when its `/ready` reports them (`queues: { name: { waiting, active, delayed } }`). */
  queues: QueueDepth[];
}

const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** The dependencies and queues a `/ready` body reports (anything else in it is ignored). */
export function readinessDetails(body: unknown): Pick<SubgraphHealth, 'dependencies' | 'queues'> {
  const b = (body && typeof body === 'object' ? body : {}) as { dependencies?: unknown; queues?: unknown };
  const deps =
    b.dependencies && typeof b.dependencies === 'object' ? Object.entries(b.dependencies as Record<string, unknown>) : [];
  const queues = b.queues && typeof b.queues === 'object' ? Object.entries(b.queues as Record<string, unknown>) : [];
  return {
    dependencies: deps.filter(([, v]) => typeof v === 'string').map(([name, v]) => ({ name, status: v as string })),
    queues: queues
      .filter(([, v]) => v && typeof v === 'object')
      .map(([name, v]) => {
        const q = v as Record<string, unknown>;
        return { name, waiting: count(q.waiting), active: count(q.active), delayed: count(q.delayed) };
      }),
  };
}

/** Asks one subgraph's `/ready` (its stores included), with a timeout. */
export async function probeSubgraph(sg: SubgraphInfo, timeoutMs = 1500): Promise<SubgraphHealth> {
  const started = performance.now();
  try {
    const res = await fetch(new URL('/ready', sg.url), { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: nothing more to report */
    }
    return {
      name: sg.name,
      url: sg.url,
      status: res.ok ? 'up' : 'down',
      latencyMs: Math.round(performance.now() - started),
      ...readinessDetails(body),
    };
  } catch {
    return { name: sg.name, url: sg.url, status: 'down', latencyMs: null, dependencies: [], queues: [] };
  }
}

/** Gateway `/health`: the process is up (200), with every subgraph's state listed. */
export function gatewayHealthRoute(subgraphs: () => SubgraphInfo[]): RouteHandler {
  return async (_req, res) => {
    const list = await Promise.all(subgraphs().map((s) => probeSubgraph(s)));
    const degraded = list.some((s) => s.status === 'down');
    sendJson(res, 200, {
      status: degraded ? 'degraded' : 'ok',
      service: 'gateway',
      subgraphs: list.map(({ name, status, latencyMs }) => ({ name, status, latencyMs })),
    });
  };
}
