import { sendJson, type RouteHandler } from '@tm/kit';
import type { SubgraphInfo } from './supergraph';

export interface SubgraphHealth {
  name: string;
  url: string;
  status: 'up' | 'down';
  latencyMs: number | null;
}

/** Asks one subgraph's `/ready` (its stores included), with a timeout. */
export async function probeSubgraph(sg: SubgraphInfo, timeoutMs = 1500): Promise<SubgraphHealth> {
  const started = performance.now();
  try {
    const res = await fetch(new URL('/ready', sg.url), { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { name: sg.name, url: sg.url, status: res.ok ? 'up' : 'down', latencyMs: Math.round(performance.now() - started) };
  } catch {
    return { name: sg.name, url: sg.url, status: 'down', latencyMs: null };
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
