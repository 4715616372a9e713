import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './net';

export type MongoKind = 'external' | 'mongod' | 'mongo-java-server-memory' | 'mongo-java-server-h2';

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
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter),
    path.join(process.env.GOPATH ?? path.join(homedir(), 'go'), 'bin'),
  ];
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
    // 143 = 128 + SIGTERM: a JVM's answer to our own stop
    if (code && code !== 143) process.stderr.write(`[devstack] ${label} exited with ${code}: ${stderr}\n`);
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

export async function startRedis(
  base?: string,
  fixedPort?: number,
): Promise<{ url: string; proc: Started; pid: number; stop: () => Promise<void> }> {
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
  return { url: `redis://127.0.0.1:${port}`, proc, pid: child.pid!, stop: () => stopProcess(proc) };
}

/** The embedded store's launcher: a Maven project beside this package, built once and cached in its `target/`. */
const LAUNCHER_DIR = path.resolve(__dirname, '../mongo-java-server');
const LAUNCHER_SOURCES = ['pom.xml', 'src/main/java/tm/EmbeddedMongo.java'];

function launcherStamp(): string {
  const h = createHash('sha256');
  for (const f of LAUNCHER_SOURCES) h.update(readFileSync(path.join(LAUNCHER_DIR, f)));
  return h.digest('hex');
}

/**
 * The classpath of the mongo-java-server launcher, building it with Maven first when the cached build
 * is missing or older than its sources (one download from Maven Central, then offline).
 */
export function mongoJavaServerClasspath(): string {
  const target = path.join(LAUNCHER_DIR, 'target');
  const stampFile = path.join(target, 'tm-build.stamp');
  const stamp = launcherStamp();
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
    const mvn = findBinary('mvn');
    if (!mvn || !findBinary('java')) {
      throw new MissingBinaryError(
        'no MongoDB-compatible store: set MONGO_URL, put mongod on PATH, or install Java 17+ and Maven (`bash tools/install-services.sh`) for the embedded mongo-java-server',
      );
    }
    process.stderr.write('[devstack] building the embedded store (mongo-java-server) with Maven, once\n');
    const r = spawnSync(mvn, ['-q', '-B', 'package', 'dependency:copy-dependencies', '-DincludeScope=runtime'], {
      cwd: LAUNCHER_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`building the mongo-java-server launcher failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
    writeFileSync(stampFile, stamp);
  }
  const deps = path.join(target, 'dependency');
  return [
    path.join(target, 'classes'),
    ...readdirSync(deps)
      .filter((f) => f.endsWith('.jar'))
      .map((f) => path.join(deps, f)),
  ].join(path.delimiter);
}

export type MongoBackend = 'memory' | 'h2';
/**
 * mongo-java-server's JIT: `startup` (C1 only: quick to start and light for the short-lived stores of
 * tests) or `steady` (the JVM's full tiered compilation: slower to warm up, cheaper per command once
 * warm; the bench's long-running store).
 */
export type MongoJit = 'startup' | 'steady';

/**
 * A MongoDB-compatible store on a port: a `mongod` on PATH, else mongo-java-server. With a data folder
 * the data survives a restart (mongod's dbpath, or mongo-java-server's H2 file backend); without one
 * it lives in memory (mongo-java-server's memory backend) or in a temp dir removed on stop.
 */
export async function startMongo(
  base?: string,
  fixedPort?: number,
  options: { backend?: MongoBackend; jit?: MongoJit } = {},
): Promise<{ url: string; kind: MongoKind; pid: number; stop: () => Promise<void> }> {
  const port = fixedPort ?? (await freePort());
  const mongod = findBinary('mongod');
  let child: ChildProcess;
  let kind: MongoKind;
  let proc: Started;
  if (mongod) {
    const { dir, keep } = dataDir(base, 'mongo');
    kind = 'mongod';
    child = startProcess(mongod, ['--port', String(port), '--bind_ip', '127.0.0.1', '--dbpath', dir, '--quiet'], dir, 'mongod');
    proc = { child, dir, keep };
  } else {
    const backend = options.backend ?? (base ? 'h2' : 'memory');
    const { dir, keep } = backend === 'h2' ? dataDir(base, 'mongo') : { dir: tmpdir(), keep: true };
    kind = backend === 'h2' ? 'mongo-java-server-h2' : 'mongo-java-server-memory';
    const heap = process.env.TM_MONGO_HEAP ?? (backend === 'h2' ? '512m' : '1g');
    const java = findBinary('java')!;
    const classpath = mongoJavaServerClasspath();
    child = startProcess(
      java,
      [
        `-Xmx${heap}`,
        '-XX:+UseSerialGC',
        ...(options.jit === 'steady' ? [] : ['-XX:TieredStopAtLevel=1']),
        '-Xss512k',
        '-cp',
        classpath,
        'tm.EmbeddedMongo',
        '127.0.0.1',
        String(port),
        ...(backend === 'h2' ? ['h2', path.join(dir, 'store.mv.db')] : ['memory']),
      ],
      dir,
      kind,
    );
    proc = { child, dir, keep };
  }
  await waitForPort(port, 30_000, () => child.exitCode === null);
  // the child's pid: tests freeze it (SIGSTOP/SIGCONT) to play a store that hangs
  return { url: `mongodb://127.0.0.1:${port}`, kind, pid: child.pid!, stop: () => stopProcess(proc) };
}

/**
 * Gives a Redis and a MongoDB-compatible store: `REDIS_URL` / `MONGO_URL` when set; otherwise
 * local processes on free ports (a `mongod` on PATH, else mongo-java-server), with their data in
 * `options.dataDir` (kept) or in memory / temp dirs.
 */
export async function startDevstack(
  env: NodeJS.ProcessEnv = process.env,
  options: { dataDir?: string; mongoBackend?: MongoBackend; mongoJit?: MongoJit } = {},
): Promise<Devstack> {
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
      const m = await startMongo(options.dataDir, undefined, { backend: options.mongoBackend, jit: options.mongoJit });
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
