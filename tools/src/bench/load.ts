import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { benchShapeOk } from './fixtures';

/**
 * The load generator, in its own process: `node load.js <config.json>`; prints one JSON line with
 * the result. One autocannon connection = one virtual user with its own `authorization`. Every
 * response is parsed and checked for shape and for the absence of `errors`.
 */
export interface LoadConfig {
  url: string;
  /** GraphQL request bodies, one per virtual user (cycled), or one for all. */
  bodies: string[];
  /** Extra headers, one set per virtual user (cycled): a unique `authorization` each. */
  headers: Array<Record<string, string>>;
  connections: number;
  durationSec: number;
  warmupSec: number;
  /** Fixed arrival rate (req/s over all connections); closed loop when absent. */
  rate?: number;
  /** Which shape check applies. */
  check: 'bench' | 'board' | 'nonempty';
  /** For `board`: how many task edges every response must carry. */
  expectEdges?: number;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  badResponses: number;
  /** Open load: requests the generator could not issue at the fixed rate. */
  dropped: number;
  firstBad?: string;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function checker(cfg: LoadConfig): (body: string) => string | null {
  return (raw) => {
    let body: { data?: Record<string, unknown> | null; errors?: unknown[] };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      return `not JSON: ${raw.slice(0, 200)}`;
    }
    if (body.errors?.length) return `errors: ${JSON.stringify(body.errors).slice(0, 300)}`;
    if (cfg.check === 'bench') return benchShapeOk(body as never) ? null : `bad shape: ${raw.slice(0, 200)}`;
    if (cfg.check === 'board') {
      const project = body.data?.project as
        | { name?: string; members?: unknown[]; tasks?: { edges?: Array<{ node?: { reporter?: { name?: string } } }> } }
        | undefined;
      const edges = project?.tasks?.edges;
      if (
        !project?.name ||
        !project.members?.length ||
        !edges ||
        edges.length !== (cfg.expectEdges ?? edges.length) ||
        !edges[0]?.node?.reporter?.name
      ) {
        return `bad shape: ${raw.slice(0, 200)}`;
      }
      return null;
    }
    return body.data && Object.values(body.data).every((v) => v != null) ? null : `bad shape: ${raw.slice(0, 200)}`;
  };
}

function runOnce(cfg: LoadConfig, durationSec: number): Promise<LoadResult> {
  const check = checker(cfg);
  let next = 0;
  let bad = 0;
  let firstBad: string | undefined;
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: cfg.url,
        connections: cfg.connections,
        duration: durationSec,
        timeout: 10,
        pipelining: 1,
        ...(cfg.rate ? { overallRate: cfg.rate } : {}),
        requests: [
          {
            method: 'POST',
            setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
              if (context.vu === undefined) context.vu = next++;
              const vu = context.vu as number;
              return {
                ...req,
                headers: { 'content-type': 'application/json', ...cfg.headers[vu % cfg.headers.length] },
                body: cfg.bodies[vu % cfg.bodies.length],
              };
            },
            onResponse: (status: number, body: string) => {
              const problem = status === 200 ? check(body) : `HTTP ${status}: ${body.slice(0, 200)}`;
              if (problem) {
                bad++;
                firstBad ??= problem;
              }
            },
          },
        ] as never,
      },
      (err, result) => {
        if (err) return reject(err);
        latencies.sort((a, b) => a - b);
        const completed = latencies.length;
        const expected = cfg.rate ? cfg.rate * durationSec : 0;
        resolve({
          requests: completed,
          rps: completed / durationSec,
          p50: percentile(latencies, 50),
          p95: percentile(latencies, 95),
          p99: percentile(latencies, 99),
          max: latencies.at(-1) ?? NaN,
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          badResponses: bad,
          dropped: cfg.rate ? Math.max(0, Math.round(expected - completed)) + result.timeouts : 0,
          ...(firstBad ? { firstBad } : {}),
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) =>
      latencies.push(responseTime),
    );
  });
}

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadConfig;
  if (cfg.warmupSec > 0) await runOnce({ ...cfg, rate: undefined }, cfg.warmupSec);
  process.stderr.write('MEASURE\n');
  const result = await runOnce(cfg, cfg.durationSec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
