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

async function waitHealthy(base: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`not healthy within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts a built service (`node <script>`) on a free port as a child process and waits for its
 * `/health`. The compiled code is what runs in production, so end-to-end tests use it.
 */
export async function spawnService(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  port?: number,
): Promise<ServiceProcess> {
  const p = port ?? (await freePort());
  const portVar = name === 'gateway' ? 'GATEWAY_PORT' : `${name.toUpperCase()}_PORT`;
  const child = spawn(process.execPath, [path.join(REPO_ROOT, script)], {
    cwd: REPO_ROOT,
    env: { ...env, [portVar]: String(p) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (d: Buffer) => {
    out = (out + d.toString()).slice(-200_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const base = `http://127.0.0.1:${p}`;
  const svc: ServiceProcess = {
    name,
    port: p,
    base,
    url: `${base}/graphql`,
    child,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
  try {
    await waitHealthy(base, child, svc.output, 30_000);
  } catch (err) {
    await svc.stop();
    throw new Error(`${name}: ${(err as Error).message}`);
  }
  return svc;
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
