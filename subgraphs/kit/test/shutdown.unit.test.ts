import { spawn } from 'node:child_process';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, trackInFlight } from '../src/infra/shutdown';

/**
 * A graceful close under steady keep-alive traffic: Node alone keeps serving a busy keep-alive
 * connection after `close()`, so the process would stay up until its shutdown timeout.
 */
it('ends busy keep-alive connections after their current response, without failing any request', async () => {
  const server = http.createServer((_req, res) => setTimeout(() => res.end('ok'), 20));
  trackInFlight(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 3 });
  let closing = false;
  let ok = 0;
  const failures: string[] = [];
  const get = () =>
    new Promise<void>((resolve) => {
      http
        .get({ port, host: '127.0.0.1', agent }, (res) => {
          res.resume();
          res.on('end', () => {
            ok++;
            resolve();
          });
        })
        .on('error', (err: NodeJS.ErrnoException) => {
          // refused once the server stopped listening: what a balancer sends elsewhere; anything else is a lost request
          if (!(closing && err.code === 'ECONNREFUSED')) failures.push(String(err.code ?? err));
          resolve();
        });
    });
  // three clients, each sending its next request as soon as the last one is answered
  let closed = false;
  const clients = [0, 1, 2].map(async () => {
    while (!closed) await get();
  });
  while (ok < 15) await new Promise((r) => setTimeout(r, 10));
  closing = true;
  const started = Date.now();
  await closeServer(server);
  const tookMs = Date.now() - started;
  closed = true;
  await Promise.all(clients);
  agent.destroy();
  expect(failures).toEqual([]);
  expect(tookMs).toBeLessThan(2000);
});

it('closes a keep-alive connection left idle, after a grace of about a second', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  trackInFlight(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const agent = new http.Agent({ keepAlive: true });
  await new Promise<void>((resolve, reject) => {
    http
      .get({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', agent }, (res) => res.resume().on('end', resolve))
      .on('error', reject);
  });
  const started = Date.now();
  await closeServer(server);
  const tookMs = Date.now() - started;
  agent.destroy();
  expect(tookMs).toBeGreaterThanOrEqual(900);
  expect(tookMs).toBeLessThan(3000);
});

/** A child process running installShutdown with the given steps (a step: how long it takes, ms; -1: never ends). */
function shutdownChild(steps: Record<string, number>, timeoutMs: number): Promise<{ code: number | null; lines: string[] }> {
  const script = `
    const { installShutdown } = require('./subgraphs/kit/dist/infra/shutdown.js');
    const { createLogger } = require('./subgraphs/kit/dist/infra/logger.js');
    const log = createLogger('shutdown-test', 'debug');
    const steps = {};
    for (const [name, ms] of Object.entries(${JSON.stringify(steps)}))
      steps[name] = () => new Promise((r) => { if (ms >= 0) setTimeout(r, ms); else setInterval(() => {}, 1000); });
    installShutdown(log, steps, ${timeoutMs});
    setInterval(() => {}, 1000);
    process.stdout.write('ready\\n');
  `;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: path.resolve(__dirname, '../../..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n') && !child.killed) child.kill('SIGTERM');
  });
  return new Promise((resolve) =>
    child.once('exit', (code) => resolve({ code, lines: out.split('\n').filter((l) => l.startsWith('{')) })),
  );
}

const logged = (lines: string[]) => lines.map((l) => JSON.parse(l) as { msg: string; step?: string; ms?: number; level: number });

it('names the step a shutdown is stuck in when it times out, and exits 1', async () => {
  const { code, lines } = await shutdownChild({ quick: 0, stuck: -1, never: 0 }, 400);
  expect(code).toBe(1);
  const entries = logged(lines);
  expect(entries.find((e) => e.msg === 'shutdown timed out')).toMatchObject({ step: 'stuck' });
  expect(entries.filter((e) => e.msg === 'shutdown step done').map((e) => e.step)).toEqual(['quick']);
});

it('logs a slow step with its duration and still exits 0', async () => {
  const { code, lines } = await shutdownChild({ slow: 1100, quick: 0 }, 10_000);
  expect(code).toBe(0);
  const entries = logged(lines);
  const slow = entries.find((e) => e.msg === 'shutdown step was slow');
  expect(slow).toMatchObject({ step: 'slow' });
  expect(slow!.ms).toBeGreaterThanOrEqual(1000);
  expect(entries.map((e) => e.msg)).toContain('stopped');
});
