import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../testing/processes';
import type { LiveConfig } from './live-load';
import type { SeededStack } from './part2';
import { BENCH_DIST, profileEnv, watchCpu } from './procs';

export interface LiveRow {
  subscribers: number;
  events: number;
  p50: number;
  p99: number;
  lastMedian: number;
  deliveryRatio: number;
  badPayloads: number;
  memoryPerConnectionKiB: number;
  heapPerConnectionKiB: number;
  eventLoopLagMaxMs: number;
  connectSeconds: number;
  /** From the first connection opened until the gateway had all of them live (ms). */
  liveMs?: number;
  /** updateTask calls that failed (their events never happened). */
  failedUpdates?: number;
  firstFailure?: string;
}

export interface Part4Result {
  users: number;
  scenarios: LiveRow[];
  filtered?: {
    subscribers: number;
    otherEvents: number;
    p50: number;
    p99: number;
    deliveryRatio: number;
    unexpectedPayloads: number;
  };
  churn?: {
    stable: number;
    cycles: number;
    cyclesPerSecond: number;
    events: number;
    p50: number;
    p99: number;
    deliveryRatio: number;
    leakedSubscriptions: number;
    redisChannelsAfter: number;
  };
  /** Subscription starts: from the first connection opened until the gateway had all `subscriptions` live. */
  starts?: { subscriptions: number; ms: number; clientOpenMs: number };
  /** Sustained updates at a fixed rate to one case's subscribers (live-load.ts: sustainedScenario). */
  sustained?: {
    subscribers: number;
    rate: number;
    seconds: number;
    sent: number;
    achievedRate: number;
    failedUpdates: number;
    firstFailure?: string;
    p50: number;
    p99: number;
    p99FirstThird: number;
    p99MiddleThird: number;
    p99LastThird: number;
    mutationP99: number;
    deliveryRatio: number;
    gatewayHandedOver: number;
    /** The gateway's delivery latency histogram (change time → socket), p50/p99 as bucket bounds in ms. */
    gatewayLatencyP50?: number;
    gatewayLatencyP99?: number;
    /** Per event, p50 / p99 (ms): send → the change's time, the change → first delivery, first → last delivery. */
    split?: { toChange: number[]; changeToFirst: number[]; firstToLast: number[] };
    expectedDeliveries: number;
    unmatchedEvents: number;
    clientCpuPercent: number;
    badPayloads: number;
    eventLoopLagMaxMs: number;
  };
  gatewayCpuPercent: number;
  /** The same scenarios with LIVE_SHARED_RESOLUTION=off (each payload resolved per subscriber). */
  perSubscriber?: LiveRow[];
  error?: string;
}

const PER_USER = 20;

/** Part 4: live updates through graphql-ws, the subscribers in their own process. */
export async function part4(s: SeededStack, opts: { quick: boolean; log: (l: string) => void }): Promise<Part4Result> {
  // BENCH_LIVE_COUNTS=5000: only those (e.g. to profile one case)
  const counts = process.env.BENCH_LIVE_COUNTS
    ? process.env.BENCH_LIVE_COUNTS.split(',').map(Number)
    : opts.quick
      ? [100, 1000]
      : [100, 1000, 5000];
  const projectId = s.projects[0]!;
  const wantUsers = Number(process.env.BENCH_LIVE_USERS) || (opts.quick ? 50 : 250);
  let users = s.users;
  if (users.length < wantUsers) {
    opts.log(`part 4: registering ${wantUsers - users.length} more users (≤ ${PER_USER} live connections per user)`);
    const extra = await s.register(wantUsers - users.length);
    for (const u of extra) {
      await s.call(
        s.owner.token,
        'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }',
        { p: projectId, u: u.id },
      );
    }
    users = [...users, ...extra];
  }
  const usable = Math.min(users.length * PER_USER, Math.max(...counts));
  const cfg: LiveConfig = {
    wsUrl: '',
    httpUrl: '',
    gatewayBase: '',
    tokens: users.map((u) => u.token),
    projectId,
    taskIds: s.tasksByProject[projectId]!.slice(0, 50),
    otherProjectTaskIds: s.tasksByProject[s.projects[1] ?? projectId]!.slice(0, 20),
    updaterToken: s.owner.token,
    counts: counts.filter((c) => c <= usable),
    eventsPerCount: opts.quick ? 3 : 5,
    filteredOthers: opts.quick ? 5 : 10,
    churnSeconds: opts.quick ? 3 : 8,
    churnConnections: 20,
    stableForChurn: 100,
    // 20 updates/s to 1,000 subscribers; the starts goal is timed on the largest case's opening
    sustainedSeconds: opts.quick ? 10 : 30,
    sustainedRate: 20,
    sustainedSubscribers: 1000,
    sustainedTaskIds: s.tasksByProject[projectId]!,
    startsCount: opts.quick ? 1000 : 5000,
  };
  const run = async (
    gateway: typeof s.stack.gateway,
    c: LiveConfig,
  ): Promise<{ parsed?: Omit<Part4Result, 'users' | 'gatewayCpuPercent'>; cpu: number; err: string }> => {
    const file = path.join(tmpdir(), `tm-bench-live-${process.pid}.json`);
    writeFileSync(
      file,
      JSON.stringify({ ...c, wsUrl: gateway.url.replace(/^http/, 'ws'), httpUrl: gateway.url, gatewayBase: gateway.base }),
    );
    const cpu = watchCpu({ gateway: gateway.child.pid });
    // BENCH_CPU_PROF: the subscribers' process is profiled too (is the load generator the limit?)
    const prof = process.env.BENCH_CPU_PROF
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`,
          `--cpu-prof-name=live-load-${Date.now()}.cpuprofile`,
        ]
      : [];
    const child = spawn(process.execPath, [...prof, '--max-old-space-size=2048', path.join(BENCH_DIST, 'live-load.js'), file], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim()) opts.log(`  ${line.trim().slice(0, 400)}`);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
    await new Promise((r) => child.once('exit', r));
    clearTimeout(timer);
    const usage = cpu.stop().gateway ?? NaN;
    const line = out.trim().split('\n').pop();
    return {
      ...(line ? { parsed: JSON.parse(line) as Omit<Part4Result, 'users' | 'gatewayCpuPercent'> } : {}),
      cpu: usage,
      err: err.slice(-1500),
    };
  };

  // before: every payload resolved per subscriber (the engine's behaviour before shared resolution);
  // BENCH_LIVE_COMPARE=off skips it (e.g. while profiling)
  let before: Awaited<ReturnType<typeof run>> = { cpu: NaN, err: 'skipped (BENCH_LIVE_COMPARE=off)' };
  if (process.env.BENCH_LIVE_COMPARE !== 'off') {
    opts.log('part 4: per-subscriber resolution (LIVE_SHARED_RESOLUTION=off), for comparison');
    const perUserGateway = await s.stack.addGateway({ LIVE_SHARED_RESOLUTION: 'off', NODE_ENV: 'production', LOG_LEVEL: 'warn' });
    before = await run(perUserGateway, {
      ...cfg,
      counts: cfg.counts.filter((c) => c <= 1000),
      filteredOthers: 0,
      churnSeconds: 0,
      sustainedSeconds: 0,
      startsCount: 0,
      // every start is a supergraph query here: 1,000 took 59 s on the full seed (2026-11-29)
      subscribeTimeoutMs: 180_000,
    });
    await perUserGateway.stop();
  }

  opts.log(`part 4: live updates, ${cfg.counts.join(' / ')} subscribers over ${users.length} users`);
  // BENCH_CPU_PROF: a gateway of its own for the live runs, so its profile holds only them
  const profiled = process.env.BENCH_CPU_PROF
    ? await s.stack.addGateway({ ...profileEnv('part4-live'), NODE_ENV: 'production', LOG_LEVEL: 'warn' })
    : undefined;
  const after = await run(profiled ?? s.stack.gateway, cfg);
  await profiled?.stop();
  // the gateway's own warnings during the live runs (breakers, unresolved events) say why a delivery failed
  const warnings = [
    ...new Set(
      s.stack.gateway
        .output()
        .split('\n')
        .filter((l) => /"level":(40|50)/.test(l))
        .map((l) => l.replace(/"time":"[^"]*",|"correlationId":"[^"]*",?/g, '').slice(0, 400)),
    ),
  ];
  if (warnings.length) opts.log(`  gateway warnings (${warnings.length} distinct): ${warnings.slice(-8).join('\n    ')}`);
  const perSubscriber = before.parsed?.scenarios ?? [
    {
      subscribers: NaN,
      events: 0,
      p50: NaN,
      p99: NaN,
      lastMedian: NaN,
      deliveryRatio: NaN,
      badPayloads: 0,
      memoryPerConnectionKiB: NaN,
      heapPerConnectionKiB: NaN,
      eventLoopLagMaxMs: NaN,
      connectSeconds: NaN,
      firstFailure: `run failed: ${before.err.slice(-300)}`,
    },
  ];
  if (!after.parsed)
    return {
      users: users.length,
      scenarios: [],
      gatewayCpuPercent: after.cpu,
      error: after.err,
      ...(perSubscriber ? { perSubscriber } : {}),
    };
  return { users: users.length, ...after.parsed, gatewayCpuPercent: after.cpu, ...(perSubscriber ? { perSubscriber } : {}) };
}
