import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../net';

export const REPO_ROOT = path.resolve(__dirname, '../../..');

export interface ServiceProcess {
  name: string;
  port: number;
  url: string;
  base: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node ...args` as a child process whose port is set through `env` (the caller's choice of
 * variable), and waits for `GET base + healthPath` to answer OK. Output is kept (the last
 * `keepChars`) for error messages. Used by the end-to-end tests and the bench.
 */
export async function spawnNode(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  port: number,
  opts: SpawnOptions = {},
): Promise<ServiceProcess> {
  // node's own flags (e.g. --cpu-prof, which NODE_OPTIONS refuses) come in env.TM_NODE_FLAGS
  const { TM_NODE_FLAGS: flags, ...childEnv } = env;
  return spawnCommand(name, process.execPath, [...(flags ? flags.split(' ') : []), ...args], childEnv, port, opts);
}

export interface SpawnOptions {
  healthPath?: string;
  timeoutMs?: number;
  keepChars?: number;
  killAfterMs?: number;
}

/** As `spawnNode`, for any executable (e.g. a native binary the bench compares with). */
export async function spawnCommand(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  port: number,
  opts: SpawnOptions = {},
): Promise<ServiceProcess> {
  const { healthPath = '/health', timeoutMs = 60_000, keepChars = 200_000, killAfterMs = 10_000 } = opts;
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // e.g. a missing executable: reported by the readiness loop below instead of crashing the caller
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  let out = '';
  const collect = (d: Buffer) => {
    out = (out + d.toString()).slice(-keepChars);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // a service that dies while a test runs: say so, with its last output (else only ECONNRESET shows)
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping && !spawnError)
      process.stderr.write(
        `[stack] ${name} (pid ${child.pid}) exited (${code ?? signal}) before its stop():\n${out.slice(-4000)}\n`,
      );
  });
  const base = `http://127.0.0.1:${port}`;
  const svc: ServiceProcess = {
    name,
    port,
    base,
    url: `${base}/graphql`,
    child,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        stopping = true;
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (spawnError) throw new Error(`${name} could not start: ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${out.slice(-5000)}`);
    try {
      const res = await fetch(`${base}${healthPath}`);
      if (res.ok) return svc;
      // someone answers, but not OK: another server on this port, or not ready
      last = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
    } catch (err) {
      last = String((err as { cause?: { code?: string } }).cause?.code ?? err);
    }
    if (Date.now() > deadline) {
      await svc.stop();
      throw new Error(
        `${name} (pid ${child.pid}, port ${port}) not healthy within ${timeoutMs} ms; last: ${last}:\n${out.slice(-5000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts a built service (`node <script>`) on a free port as a child process and waits for its
 * `/health` (or `opts.healthPath`: `/ready` also waits for its stores). The compiled code is what
 * runs in production, so end-to-end tests use it.
 */
export async function spawnService(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  port?: number,
  opts: SpawnOptions = {},
): Promise<ServiceProcess> {
  const p = port ?? (await freePort());
  const portVar = name === 'gateway' ? 'GATEWAY_PORT' : `${name.toUpperCase()}_PORT`;
  return spawnNode(name, [path.join(REPO_ROOT, script)], { ...env, [portVar]: String(p) }, p, opts);
}

/** Runs cleanups in reverse order (register in beforeAll, call in afterAll). */
export class Cleanup {
  private readonly steps: Array<() => unknown> = [];
  add(step: () => unknown): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    for (const s of this.steps.splice(0).reverse()) await s();
  }
}

/**
 * With BENCH_CPU_PROF=<dir>, our gateway processes run with V8's CPU profiler and write
 * `<dir>/<label>.cpuprofile` when they stop (summarise with `node tools/dist/bench/profile-top.js <file>`).
 */
export function profileEnv(label: string): NodeJS.ProcessEnv {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return {};
  return {
    TM_NODE_FLAGS: `--cpu-prof --cpu-prof-dir=${path.resolve(dir)} --cpu-prof-name=${label}-${Date.now()}.cpuprofile`,
  };
}

/**
 * Node flags every gateway runs with (as in the Dockerfile and `npm start`): a 64 MiB young
 * generation, so each request's short-lived objects die in fewer scavenges.
 */
export const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=64'];

/** TM_NODE_FLAGS for a gateway process: the gateway's flags, and the profiler's with BENCH_CPU_PROF. */
export function gatewayFlagsEnv(profileLabel?: string): NodeJS.ProcessEnv {
  const profiling = profileLabel ? profileEnv(profileLabel).TM_NODE_FLAGS : undefined;
  return { TM_NODE_FLAGS: [...GATEWAY_NODE_FLAGS, ...(profiling ? [profiling] : [])].join(' ') };
}
