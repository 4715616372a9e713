import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './net';

export type MongoKind = 'external' | 'mongod' | 'ferretdb' | 'mongodb-memory-server';

export interface Devstack {
  mongoUrl: string;
  redisUrl: string;
  mongoKind: MongoKind;
  redisKind: 'external' | 'redis-server';
  /** Stops what this devstack started (never an external service). */
  stop(): Promise<void>;
}

export class MissingBinaryError extends Error {}

/** Finds an executable on PATH or in Go's bin folder. */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), path.join(process.env.GOPATH ?? path.join(homedir(), 'go'), 'bin')];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

interface Started {
  child: ChildProcess;
  dir: string;
  keep: boolean;
}

function startProcess(bin: string, args: string[], dir: string, label: string): ChildProcess {
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  child.once('exit', (code) => {
    if (code && code !== 0) process.stderr.write(`[devstack] ${label} exited with ${code}: ${stderr}\n`);
  });
  return child;
}

async function stopProcess(s: Started): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    const exited = new Promise((r) => s.child.once('exit', r));
    s.child.kill('SIGTERM');
    const timer = setTimeout(() => s.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (!s.keep) rmSync(s.dir, { recursive: true, force: true });
}

/** A data folder: the given one (kept), else a new temp one (removed on stop). */
function dataDir(base: string | undefined, name: string): { dir: string; keep: boolean } {
  if (base) {
    const dir = path.join(base, name);
    mkdirSync(dir, { recursive: true });
    return { dir, keep: true };
  }
  return { dir: mkdtempSync(path.join(tmpdir(), `tm-${name}-`)), keep: false };
}

export async function startRedis(base?: string, fixedPort?: number): Promise<{ url: string; proc: Started; stop: () => Promise<void> }> {
  const bin = findBinary('redis-server');
  if (!bin) {
    throw new MissingBinaryError('redis-server not found: install it with `apt-get install -y redis-server`, or set REDIS_URL');
  }
  const { dir, keep } = dataDir(base, 'redis');
  const port = fixedPort ?? (await freePort());
  const persist = keep ? ['--appendonly', 'yes'] : ['--save', '', '--appendonly', 'no'];
  const child = startProcess(bin, ['--port', String(port), '--bind', '127.0.0.1', ...persist, '--dir', dir], dir, 'redis-server');
  await waitForPort(port, 10_000, () => child.exitCode === null);
  const proc = { child, dir, keep };
  return { url: `redis://127.0.0.1:${port}`, proc, stop: () => stopProcess(proc) };
}

export async function startMongo(
  base?: string,
  fixedPort?: number,
): Promise<{ url: string; kind: MongoKind; stop: () => Promise<void> }> {
  const { dir, keep } = dataDir(base, 'mongo');
  const port = fixedPort ?? (await freePort());
  const mongod = findBinary('mongod');
  const ferretdb = findBinary('ferretdb');
  let child: ChildProcess;
  let kind: MongoKind;
  if (mongod) {
    kind = 'mongod';
    child = startProcess(mongod, ['--port', String(port), '--bind_ip', '127.0.0.1', '--dbpath', dir, '--quiet'], dir, 'mongod');
  } else if (ferretdb) {
    kind = 'ferretdb';
    child = startProcess(
      ferretdb,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${dir}/`,
        `--listen-addr=127.0.0.1:${port}`,
        `--state-dir=${dir}`,
        '--debug-addr=127.0.0.1:0',
        '--telemetry=disable',
        '--log-level=error',
      ],
      dir,
      'ferretdb',
    );
  } else {
    if (!keep) rmSync(dir, { recursive: true, force: true });
    return startMemoryServer();
  }
  await waitForPort(port, 20_000, () => child.exitCode === null);
  const proc = { child, dir, keep };
  return { url: `mongodb://127.0.0.1:${port}`, kind, stop: () => stopProcess(proc) };
}

async function startMemoryServer(): Promise<{ url: string; kind: MongoKind; stop: () => Promise<void> }> {
  const name = 'mongodb-memory-server';
  let mod: { MongoMemoryServer: { create(): Promise<{ getUri(): string; stop(): Promise<unknown> }> } };
  try {
    mod = (await import(name)) as typeof mod;
  } catch {
    throw new MissingBinaryError(
      'no MongoDB-compatible store: set MONGO_URL, put mongod on PATH, or build ferretdb with `bash tools/install-services.sh`',
    );
  }
  const server = await mod.MongoMemoryServer.create();
  return { url: server.getUri().replace(/\/$/, ''), kind: 'mongodb-memory-server', stop: async () => void (await server.stop()) };
}

/**
 * Gives a Redis and a MongoDB-compatible store (DESIGN.md §7): `REDIS_URL` / `MONGO_URL` when
 * set; otherwise local processes on free ports with their data in temp dirs.
 */
export async function startDevstack(env: NodeJS.ProcessEnv = process.env, options: { dataDir?: string } = {}): Promise<Devstack> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    let redisUrl = env.REDIS_URL;
    let redisKind: Devstack['redisKind'] = 'external';
    if (!redisUrl) {
      const r = await startRedis(options.dataDir);
      stops.push(() => stopProcess(r.proc));
      redisUrl = r.url;
      redisKind = 'redis-server';
    }
    let mongoUrl = env.MONGO_URL;
    let mongoKind: MongoKind = 'external';
    if (!mongoUrl) {
      const m = await startMongo(options.dataDir);
      stops.push(m.stop);
      mongoUrl = m.url;
      mongoKind = m.kind;
    }
    return { mongoUrl, redisUrl, mongoKind, redisKind, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
