import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Redis, RedisKeys } from '@tm/kit/infra';
import { BENCH_QUERY, benchShapeOk, composeFixtures, FIXTURE_NAMES } from './fixtures';
import { ensureHiveRouter, HIVE_ROUTER_BIN, HIVE_ROUTER_VERSION, startHiveRouter } from './hive-router';
import type { LoadResult } from './load';
import {
  BENCH_DIST,
  BENCH_METRICS_TOKEN,
  BENCH_RATE_LIMIT_PER_MINUTE,
  median,
  runLoad,
  spread,
  startProc,
  type Proc,
} from './procs';
import { gatewayFlagsEnv, REPO_ROOT } from '../testing/processes';

export interface BenchOptions {
  quick: boolean;
  rounds: number;
  warmupSec: number;
  durationSec: number;
  connections: number;
  log: (line: string) => void;
}

export interface GatewayUnderTest {
  name: string;
  proc?: Pick<Proc, 'url' | 'child'> & { stop(): Promise<unknown> };
  /** Why it is not measured, when it cannot run here. */
  unavailable?: string;
  flags: Record<string, unknown>;
  /** A reference row (not a like-for-like peer): what it leaves out. */
  reference?: string;
}

export interface Summary {
  gateway: string;
  rps: number;
  rpsSpread: [number, number];
  p50: number;
  p95: number;
  p99: number;
  p99Spread: [number, number];
  badResponses: number;
  errors: number;
  cpu: Record<string, number>;
  /** The gateway's CPU time per request (ms), median over the kept rounds; see `cpuMsPerRequest`. */
  cpuMsPerRequest: number;
  samples: Array<LoadResult & { cpu: Record<string, number> }>;
  unavailable?: string;
  reference?: string;
}

/**
 * CPU time the gateway process spent per request in one run, in ms: its CPU (% of one core, read
 * from /proc over the measured window) ÷ 100 ÷ the requests per second of that same window × 1000.
 */
export function cpuMsPerRequest(sample: { rps: number; cpu: Record<string, number> }): number {
  const cpu = sample.cpu.gateway;
  return cpu === undefined || !(sample.rps > 0) ? NaN : (cpu / 100 / sample.rps) * 1000;
}

/**
 * Alternates the gateways A, B, C, A, B, C, … for `rounds` rounds, drops the first round,
 * and reports medians with their spread (min–max over the kept rounds).
 */
export async function alternate(
  gateways: GatewayUnderTest[],
  opts: BenchOptions,
  config: (g: GatewayUnderTest) => Omit<Parameters<typeof runLoad>[0], 'warmupSec' | 'durationSec' | 'connections'>,
  watch: (g: GatewayUnderTest) => Record<string, number | undefined>,
): Promise<Summary[]> {
  const live = gateways.filter((g) => g.proc);
  const samples = new Map<string, Array<LoadResult & { cpu: Record<string, number> }>>();
  for (let round = 0; round < opts.rounds; round++) {
    for (const g of live) {
      const r = await runLoad(
        { ...config(g), warmupSec: opts.warmupSec, durationSec: opts.durationSec, connections: opts.connections },
        watch(g),
      );
      opts.log(
        `  round ${round + 1}${round === 0 ? ' (dropped)' : ''} ${g.name}: ${r.rps.toFixed(1)} req/s p50 ${r.p50} p99 ${r.p99} ms bad ${r.badResponses}${r.firstBad ? ` (${r.firstBad.slice(0, 160)})` : ''} cpu ${JSON.stringify(r.cpu)}`,
      );
      if (round > 0 || opts.rounds === 1) samples.set(g.name, [...(samples.get(g.name) ?? []), r]);
    }
  }
  return gateways.map((g) => {
    const s = samples.get(g.name) ?? [];
    const cpuKeys = Object.keys(s[0]?.cpu ?? {});
    return {
      gateway: g.name,
      rps: median(s.map((x) => x.rps)),
      rpsSpread: spread(s.map((x) => x.rps)),
      p50: median(s.map((x) => x.p50)),
      p95: median(s.map((x) => x.p95)),
      p99: median(s.map((x) => x.p99)),
      p99Spread: spread(s.map((x) => x.p99)),
      badResponses: s.reduce((n, x) => n + x.badResponses + x.non2xx, 0),
      errors: s.reduce((n, x) => n + x.errors + x.timeouts, 0),
      cpu: Object.fromEntries(cpuKeys.map((k) => [k, median(s.map((x) => x.cpu[k]!))])),
      cpuMsPerRequest: median(s.map(cpuMsPerRequest)),
      samples: s,
      ...(g.unavailable ? { unavailable: g.unavailable } : {}),
      ...(g.reference ? { reference: g.reference } : {}),
    };
  });
}

/** A JWKS of our own (ES256, the claims our gateway expects) and one token per virtual user. */
async function issuer(users: number) {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = `bench-${randomUUID().slice(0, 8)}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const server = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const subjects = Array.from({ length: users }, () => randomUUID());
  const tokens = await Promise.all(
    subjects.map((sub) =>
      new SignJWT({ roles: ['USER'], sid: randomUUID(), tv: 0 })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
        .setSubject(sub)
        .setIssuer('tm-users')
        .setAudience('tm-api')
        .setIssuedAt()
        .setExpirationTime('2h')
        .sign(privateKey),
    ),
  );
  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    tokens,
    subjects,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** What each kind of gateway checks on every request (the part-1 table's last column). */
export const OURS_CHECKS = 'token (JWT + Redis version), rate limit, op limits, signed context';
export const PEER_CHECKS = 'token (JWT + Redis version, plugin), signed context';

export async function startGateways(
  supergraphPath: string,
  common: NodeJS.ProcessEnv,
  opts: { variants: boolean; peers?: boolean; log: (l: string) => void },
): Promise<GatewayUnderTest[]> {
  const ours: GatewayUnderTest = {
    name: 'ours',
    flags: {
      engine: 'Apollo Server + @apollo/gateway (composition, @apollo/query-planner)',
      executor: 'ours (gateway/src/executor)',
      fetcher: 'undici keep-alive Agent',
      dedup: 'off',
      checks: OURS_CHECKS,
    },
  };
  ours.proc = await startProc('ours', path.join(REPO_ROOT, 'gateway/dist/main.js'), [], {
    ...common,
    SUPERGRAPH_PATH: supergraphPath,
    SUBGRAPH_DEDUP: 'off',
    ...gatewayFlagsEnv('part1-ours'),
  });
  const list = [ours];
  if (opts.variants) {
    const a: GatewayUnderTest = {
      name: 'ours+apollo-executor',
      flags: { ...ours.flags, executor: "@apollo/gateway's executeQueryPlan (GATEWAY_EXECUTOR=apollo)" },
    };
    a.proc = await startProc('ours+apollo-executor', path.join(REPO_ROOT, 'gateway/dist/main.js'), [], {
      ...common,
      SUPERGRAPH_PATH: supergraphPath,
      SUBGRAPH_DEDUP: 'off',
      GATEWAY_EXECUTOR: 'apollo',
      ...gatewayFlagsEnv(),
    });
    list.push(a);
    const d: GatewayUnderTest = { name: 'ours+dedup', flags: { ...ours.flags, dedup: 'on' } };
    d.proc = await startProc('ours+dedup', path.join(REPO_ROOT, 'gateway/dist/main.js'), [], {
      ...common,
      SUPERGRAPH_PATH: supergraphPath,
      SUBGRAPH_DEDUP: 'on',
      ...gatewayFlagsEnv(),
    });
    list.push(d);
  }
  if (opts.peers === false) return list;
  const hive: GatewayUnderTest = {
    name: 'hive',
    flags: { engine: '@graphql-hive/gateway runtime (defaults)', planner: 'JS (stitching runtime)', checks: PEER_CHECKS },
  };
  // the peers run with the same node flags as ours (fair: it helps any Node gateway)
  hive.proc = await startProc('hive', path.join(BENCH_DIST, 'peer-gateway.js'), [], {
    ...common,
    SUPERGRAPH_PATH: supergraphPath,
    ...gatewayFlagsEnv(),
  });
  list.push(hive);
  const rust: GatewayUnderTest = {
    name: 'hive+rust-planner',
    flags: {
      engine: '@graphql-hive/gateway runtime + @graphql-hive/router-runtime',
      planner: 'Rust (native addon)',
      checks: PEER_CHECKS,
    },
  };
  try {
    rust.proc = await startProc('hive+rust-planner', path.join(BENCH_DIST, 'peer-gateway.js'), [], {
      ...common,
      SUPERGRAPH_PATH: supergraphPath,
      HIVE_ROUTER_RUNTIME: '1',
      ...gatewayFlagsEnv(),
    });
  } catch (err) {
    rust.unavailable = `not available here: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`;
    opts.log(`  hive+rust-planner: ${rust.unavailable}`);
  }
  list.push(rust);
  list.push(...(await startHiveRouters(supergraphPath, opts.log)));
  return list;
}

export const HIVE_ROUTER_REFERENCE = 'reference, no auth, no signed context';

/**
 * Hive Router on the same supergraph, twice: with its in-flight de-duplication of identical
 * subgraph requests (its default) and without. Rows that cannot run here say why.
 */
async function startHiveRouters(supergraphPath: string, log: (l: string) => void): Promise<GatewayUnderTest[]> {
  const rows: GatewayUnderTest[] = [true, false].map((dedup) => ({
    name: dedup ? 'hive-router' : 'hive-router-nodedup',
    reference: HIVE_ROUTER_REFERENCE,
    flags: {
      engine: `Hive Router ${HIVE_ROUTER_VERSION} (Rust, crates.io hive-router), one process, its default worker threads`,
      binary: path.relative(REPO_ROOT, HIVE_ROUTER_BIN),
      // outbound: identical subgraph requests in flight share one; its inbound (client request)
      // de-duplication, traffic_shaping.router.dedupe, stays off (its default) in both rows
      dedup: dedup
        ? 'subgraph requests: on (its default, traffic_shaping.all.dedupe_enabled); client requests: off (its default)'
        : 'subgraph requests: off (traffic_shaping.all.dedupe_enabled: false); client requests: off (its default)',
      reference: HIVE_ROUTER_REFERENCE,
      checks: HIVE_ROUTER_REFERENCE,
    },
  }));
  if (process.env.BENCH_HIVE_ROUTER === 'off') {
    for (const r of rows) r.unavailable = 'skipped (BENCH_HIVE_ROUTER=off)';
    return rows;
  }
  let bin: string;
  try {
    bin = await ensureHiveRouter(log);
  } catch (err) {
    for (const r of rows) r.unavailable = `not available here: ${(err as Error).message.slice(0, 200)}`;
    log(`  hive-router: ${rows[0]!.unavailable}`);
    return rows;
  }
  for (const [i, r] of rows.entries()) {
    try {
      const { proc, config } = await startHiveRouter(r.name, bin, supergraphPath, i === 0);
      r.proc = proc;
      r.flags.config = config;
    } catch (err) {
      r.unavailable = `not available here: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`;
      log(`  ${r.name}: ${r.unavailable}`);
    }
  }
  return rows;
}

/** Sends one request through each gateway; a gateway that answers wrongly is marked unavailable. */
export async function sanity(
  gateways: GatewayUnderTest[],
  body: string,
  headers: Record<string, string>,
  ok: (b: unknown) => boolean,
  log: (l: string) => void,
) {
  for (const g of gateways) {
    if (!g.proc) continue;
    try {
      const res = await fetch(g.proc.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const json = (await res.json()) as { errors?: unknown[] };
      if (json.errors?.length || !ok(json)) throw new Error(JSON.stringify(json).slice(0, 300));
    } catch (err) {
      g.unavailable = `answers wrongly: ${(err as Error).message}`;
      log(`  ${g.name}: ${g.unavailable}`);
      await g.proc.stop();
      delete g.proc;
    }
  }
}

export interface Part1Result {
  closed: Summary[];
  open: Array<{ rate: number; gateway: string; rps: number; p50: number; p99: number; dropped: number; bad: number }>;
  subgraphCpuNote: string;
  flags: Record<string, Record<string, unknown>>;
}

/** Part 1: the public federation benchmark's workload, our gateway vs the peers. */
export async function part1(
  stores: { redisUrl: string; mongoUrl: string },
  opts: BenchOptions & { variants: boolean; peers?: boolean },
): Promise<Part1Result> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tm-bench-'));
  const subgraphs: Record<string, Proc> = {};
  const started: Proc[] = [];
  const iss = await issuer(opts.connections);
  let gateways: GatewayUnderTest[] = [];
  try {
    for (const name of FIXTURE_NAMES) {
      subgraphs[name] = await startProc(`fixture-${name}`, path.join(BENCH_DIST, 'fixture-subgraph.js'), [name], {
        PATH: process.env.PATH,
      });
      started.push(subgraphs[name]);
    }
    const supergraphPath = path.join(dir, 'supergraph.graphql');
    writeFileSync(supergraphPath, composeFixtures(Object.fromEntries(FIXTURE_NAMES.map((n) => [n, subgraphs[n]!.url]))));
    const common: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      LANDING_PAGE: 'off',
      HOST: '127.0.0.1',
      REDIS_URL: stores.redisUrl,
      REDIS_PREFIX: `bench1:${randomUUID().slice(0, 8)}:`,
      // our gateway's ops plane keeps its settings and audit in the store
      MONGO_URL: stores.mongoUrl,
      MONGO_DB: `bench1_${randomUUID().slice(0, 8)}`,
      // checks stay on: the per-user rate limiter runs on every request (a Redis counter), with a
      // limit far above what one virtual user sends here
      RATE_LIMIT_PER_MINUTE: BENCH_RATE_LIMIT_PER_MINUTE,
      INTERNAL_SECRET: randomUUID() + randomUUID(),
      JWKS_URL: iss.jwksUrl,
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
    };
    // as users does when it issues a token: the token version the gateway checks on every request
    const versions = new Redis(stores.redisUrl, { keyPrefix: common.REDIS_PREFIX });
    try {
      await versions.mset(Object.fromEntries(iss.subjects.map((sub) => [RedisKeys.tokenVersion(sub), '0'])));
    } finally {
      versions.disconnect();
    }
    gateways = await startGateways(supergraphPath, common, { variants: opts.variants, peers: opts.peers, log: opts.log });
    const body = JSON.stringify({ query: BENCH_QUERY, operationName: 'TestQuery' });
    const headers = iss.tokens.map((t) => ({ authorization: `Bearer ${t}` }));
    await sanity(gateways, body, headers[0]!, (b) => benchShapeOk(b as never), opts.log);
    const watch = (g: GatewayUnderTest) => ({
      gateway: g.proc?.child.pid,
      ...Object.fromEntries(FIXTURE_NAMES.map((n) => [`sub:${n}`, subgraphs[n]!.child.pid])),
    });
    opts.log('part 1: gateway workload (closed loop, 50 VUs)');
    const closed = await alternate(gateways, opts, (g) => ({ url: g.proc!.url, bodies: [body], headers, check: 'bench' }), watch);

    // the open-load rates follow the gateways compared, not the reference rows
    const best = Math.max(...closed.filter((c) => !c.reference && Number.isFinite(c.rps)).map((c) => c.rps));
    const fractions = opts.quick ? [0.5, 1.0] : [0.25, 0.5, 0.75, 1.0];
    const rates = fractions.map((f) => Math.max(5, Math.round((best * f) / 5) * 5));
    const open: Part1Result['open'] = [];
    opts.log(`part 1: open load at ${rates.join(', ')} req/s`);
    for (const rate of rates) {
      for (const g of gateways.filter((x) => x.proc)) {
        const r = await runLoad(
          {
            url: g.proc!.url,
            bodies: [body],
            headers,
            check: 'bench',
            rate,
            connections: Math.max(opts.connections, 100),
            warmupSec: 0,
            durationSec: opts.durationSec,
          },
          watch(g),
        );
        open.push({
          rate,
          gateway: g.name,
          rps: r.rps,
          p50: r.p50,
          p99: r.p99,
          dropped: r.dropped,
          bad: r.badResponses + r.non2xx,
        });
        opts.log(
          `  ${rate}/s ${g.name}: ${r.rps.toFixed(1)} req/s p50 ${r.p50} p99 ${r.p99} dropped ${r.dropped} bad ${r.badResponses + r.non2xx}`,
        );
      }
    }
    const subCpu = closed
      .map(
        (c) =>
          `${c.gateway}: subgraphs ${FIXTURE_NAMES.map((n) => `${n} ${c.cpu[`sub:${n}`] ?? '?'}%`).join(', ')}, gateway ${c.cpu.gateway ?? '?'}%, load ${c.cpu.load ?? '?'}%`,
      )
      .join('; ');
    return {
      closed,
      open,
      subgraphCpuNote: subCpu,
      flags: Object.fromEntries(
        gateways.map((g) => [g.name, { ...g.flags, ...(g.unavailable ? { unavailable: g.unavailable } : {}) }]),
      ),
    };
  } finally {
    for (const g of gateways) await g.proc?.stop();
    for (const s of started.reverse()) await s.stop();
    await iss.close();
  }
}
