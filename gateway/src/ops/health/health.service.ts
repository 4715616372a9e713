import { probeSubgraph, type QueueDepth } from '../../subgraph.health';
import type { SubgraphInfo } from '../../supergraph';
import type { SubgraphBreakers } from '../limits/breakers';

export interface ServiceHealthView {
  name: string;
  url: string | null;
  ready: boolean;
  status: string;
  latencyMs: number | null;
  circuitBreaker: string;
  readOnly: boolean;
  dependencies: Array<{ name: string; status: string }>;
  queues: QueueDepth[];
}

/** Every subgraph's readiness (`/ready`: its stores included) with latency, plus the gateway's own. */
export class HealthService {
  constructor(
    private readonly subgraphs: () => SubgraphInfo[],
    private readonly breakers: SubgraphBreakers,
    private readonly readOnly: () => string[],
    private readonly gatewayReady: () => Promise<boolean>,
  ) {}

  async all(): Promise<ServiceHealthView[]> {
    const started = performance.now();
    const [self, ...probes] = await Promise.all([this.gatewayReady(), ...this.subgraphs().map((s) => probeSubgraph(s))]);
    const gateway: ServiceHealthView = {
      name: 'gateway',
      url: null,
      ready: self,
      status: self ? 'up' : 'down',
      latencyMs: Math.round(performance.now() - started),
      circuitBreaker: 'disabled',
      readOnly: false,
      dependencies: [],
      queues: [],
    };
    return [
      gateway,
      ...probes.map((p) => ({
        name: p.name,
        url: p.url,
        ready: p.status === 'up',
        status: p.status,
        latencyMs: p.latencyMs,
        circuitBreaker: this.breakers.state(p.name),
        readOnly: this.readOnly().includes(p.name),
        dependencies: p.dependencies,
        queues: p.queues,
      })),
    ];
  }
}
