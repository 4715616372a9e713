import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../net';
import { REPO_ROOT, spawnNode, type ServiceProcess } from '../testing/processes';
export { profileEnv } from '../testing/processes';
import type { LoadConfig, LoadResult } from './load';

export const BENCH_DIST = path.join(REPO_ROOT, 'tools/dist/bench');

export type Proc = ServiceProcess;

/** Starts `node <script> ...args` with PORT (and GATEWAY_PORT) set, and waits for its /health. */
export async function startProc(
  label: string,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  healthPath = '/health',
): Promise<Proc> {
  const port = await freePort();
  return spawnNode(label, [script, ...args], { ...env, PORT: String(port), GATEWAY_PORT: String(port) }, port, {
    healthPath,
    timeoutMs: 60_000,
    keepChars: 50_000,
    killAfterMs: 5000,
  });
}

/** CPU time (user + system) of a process in seconds, from /proc. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Child processes of this process by command name (the devstack's store and Redis). */
export function childPids(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && /java|mongod|redis/.test(comm))
        out[comm.startsWith('redis') ? 'redis' : 'store'] = Number(entry);
    } catch {
      /* gone */
    }
  }
  return out;
}

export interface CpuWatch {
  /** % of one core per labelled process since `start`. */
  stop(): Record<string, number>;
}

export function watchCpu(pids: Record<string, number | undefined>): CpuWatch {
  const t0 = process.hrtime.bigint();
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  return {
    stop() {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      return Object.fromEntries(
        Object.entries(pids).map(([k, pid]) => [k, Math.round(((cpuSeconds(pid) - start[k]!) / secs) * 100)]),
      );
    },
  };
}

/**
 * Runs one load in its own process (autocannon in tools/dist/bench/load.js). CPU of the watched
 * processes (and of the load generator itself) is measured over the measured phase only.
 */
export async function runLoad(
  cfg: LoadConfig,
  watch: Record<string, number | undefined>,
): Promise<LoadResult & { cpu: Record<string, number> }> {
  const file = path.join(tmpdir(), `tm-bench-load-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  const child = spawn(process.execPath, [path.join(BENCH_DIST, 'load.js'), file], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let cpu: CpuWatch | undefined;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (!cpu && err.includes('MEASURE')) cpu = watchCpu({ ...watch, load: child.pid });
  });
  const budget = (cfg.warmupSec + cfg.durationSec + 30) * 1000;
  const timer = setTimeout(() => child.kill('SIGKILL'), budget);
  let usage: Record<string, number> = {};
  await new Promise<void>((resolve) => {
    // sample just before the process exits (its /proc entry goes away)
    const poll = setInterval(() => {
      if (out.includes('\n') && cpu) {
        usage = cpu.stop();
        cpu = undefined;
      }
    }, 20);
    child.once('exit', () => {
      clearInterval(poll);
      resolve();
    });
  });
  clearTimeout(timer);
  if (cpu) usage = cpu.stop();
  const line = out.trim().split('\n').pop();
  if (!line) throw new Error(`load generator failed: ${err.slice(-2000)}`);
  return { ...(JSON.parse(line) as LoadResult), cpu: usage };
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function spread(xs: number[]): [number, number] {
  const s = xs.filter((x) => Number.isFinite(x));
  return [Math.min(...s), Math.max(...s)];
}

/** Sums every sample of a Prometheus metric (optionally filtered by a label substring). */
/**
 * The bearer token every bench service serves `/metrics` with (they run with NODE_ENV=production,
 * where metrics are not served openly); made once per run, inherited by the bench's child processes.
 */
export const BENCH_METRICS_TOKEN = (process.env.TM_BENCH_METRICS_TOKEN ??= `bench-${randomUUID()}`);

/**
 * The per-user rate limit our gateway runs with in every measured configuration: the limiter stays
 * on (a Redis counter per request, as in production) with a limit far above what one virtual user
 * of the bench sends (at most a few thousand requests a minute).
 */
export const BENCH_RATE_LIMIT_PER_MINUTE = '1000000';

/** A service's /metrics text, with the bench's token. */
export async function metricsText(base: string): Promise<string> {
  return (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } })).text();
}

export async function scrape(base: string, metric: string, labelFilter?: string): Promise<number> {
  return metricSum(await metricsText(base), metric, labelFilter);
}

/** The sum of a metric's series in an exposition text (those whose line holds `labelFilter`, when given). */
export function metricSum(text: string, metric: string, labelFilter?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (labelFilter && !line.includes(labelFilter)) continue;
    sum += Number(line.split(' ').pop());
  }
  return sum;
}

/** Every series of a metric in an exposition text, keyed by its label set. */
export function metricSeries(text: string, metric: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const labels = line.slice(metric.length + 1, line.lastIndexOf('}'));
    out[labels] = (out[labels] ?? 0) + Number(line.split(' ').pop());
  }
  return out;
}
