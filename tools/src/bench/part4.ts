import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../testing/processes';
import type { LiveConfig } from './live-load';
import type { SeededStack } from './part2';
import { BENCH_DIST, watchCpu } from './procs';

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
}

export interface Part4Result {
  users: number;
  scenarios: LiveRow[];
  filtered?: { subscribers: number; otherEvents: number; p50: number; p99: number; deliveryRatio: number; unexpectedPayloads: number };
  churn?: { stable: number; cycles: number; cyclesPerSecond: number; events: number; p50: number; p99: number; deliveryRatio: number; leakedSubscriptions: number; redisChannelsAfter: number };
  gatewayCpuPercent: number;
  error?: string;
}

const PER_USER = 20;

/** Part 4: live updates through graphql-ws, the subscribers in their own process. */
export async function part4(s: SeededStack, opts: { quick: boolean; log: (l: string) => void }): Promise<Part4Result> {
  const counts = opts.quick ? [100, 1000] : [100, 1000, 5000];
  const projectId = s.projects[0]!;
  const wantUsers = opts.quick ? 50 : 250;
  let users = s.users;
  if (users.length < wantUsers) {
    opts.log(`part 4: registering ${wantUsers - users.length} more users (≤ ${PER_USER} live connections per user)`);
    const extra = await s.register(wantUsers - users.length);
    for (const u of extra) {
      await s.call(s.owner.token, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }', { p: projectId, u: u.id });
    }
    users = [...users, ...extra];
  }
  const usable = Math.min(users.length * PER_USER, Math.max(...counts));
  const cfg: LiveConfig = {
    wsUrl: s.stack.gateway.url.replace(/^http/, 'ws'),
    httpUrl: s.stack.gateway.url,
    gatewayBase: s.stack.gateway.base,
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
  };
  const file = path.join(tmpdir(), `tm-bench-live-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  opts.log(`part 4: live updates, ${cfg.counts.join(' / ')} subscribers over ${users.length} users`);
  const cpu = watchCpu({ gateway: s.stack.gateway.child.pid });
  const child = spawn(process.execPath, ['--max-old-space-size=2048', path.join(BENCH_DIST, 'live-load.js'), file], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const gatewayCpuPercent = cpu.stop().gateway ?? NaN;
  const line = out.trim().split('\n').pop();
  if (!line) return { users: users.length, scenarios: [], gatewayCpuPercent, error: err.slice(-1500) };
  return { users: users.length, ...(JSON.parse(line) as Omit<Part4Result, 'users' | 'gatewayCpuPercent'>), gatewayCpuPercent };
}
