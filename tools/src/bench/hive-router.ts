import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../net';
import { REPO_ROOT, spawnCommand, type ServiceProcess } from '../testing/processes';

/**
 * Hive Router (the Guild's federation router in Rust, crates.io `hive-router`), the bench's
 * reference in part 1: a native binary, cached under `.devstack/hive-router` (git-ignored) and
 * built once with cargo when it is missing. It runs with no authentication and no signed context
 * (the fixture subgraphs need none): a reference point, not a like-for-like peer.
 */
export const HIVE_ROUTER_VERSION = '0.3.10';
export const HIVE_ROUTER_ROOT = path.join(REPO_ROOT, '.devstack/hive-router');
/** `cargo install` puts the crate's binaries (its default one is `hive_router`) in `<root>/bin`. */
export const HIVE_ROUTER_BIN = path.join(HIVE_ROUTER_ROOT, 'bin/hive_router');
/**
 * The build: its dependencies need a newer rustc (1.97) than stable has, hence nightly; the
 * `graphiql` feature skips the build script's step that fetches the Laboratory web UI from npm.
 */
export const HIVE_ROUTER_BUILD = [
  '+nightly',
  'install',
  'hive-router',
  '--version',
  HIVE_ROUTER_VERSION,
  '--locked',
  '--features',
  'graphiql',
  '--root',
  HIVE_ROUTER_ROOT,
];

const rel = (p: string) => path.relative(REPO_ROOT, p);

/** A `cargo install hive-router` running on this machine (e.g. started by hand), by its pid. */
function buildInProgress(): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (/cargo/.test(path.basename(argv[0] ?? '')) && argv.includes('install') && argv.includes('hive-router'))
        return Number(entry);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return null;
}

/**
 * The router binary: the cached one, else built now (`cargo +nightly install …`, about 25 minutes,
 * once). Throws with the reason when it cannot be had here.
 */
export async function ensureHiveRouter(log: (l: string) => void): Promise<string> {
  if (existsSync(HIVE_ROUTER_BIN)) return HIVE_ROUTER_BIN;
  const running = buildInProgress();
  if (running) throw new Error(`no binary yet, a build is running (pid ${running})`);
  const nightly = spawnSync('cargo', ['+nightly', '--version'], { encoding: 'utf8', timeout: 60_000 });
  if (nightly.status !== 0) {
    const why = (nightly.error?.message ?? nightly.stderr ?? '').trim().split('\n')[0]!.slice(0, 80);
    throw new Error(`no cached binary and no nightly Rust to build it (cargo +nightly --version: ${why})`);
  }
  mkdirSync(HIVE_ROUTER_ROOT, { recursive: true });
  const logFile = path.join(HIVE_ROUTER_ROOT, 'build.log');
  log(
    `hive-router: building ${HIVE_ROUTER_VERSION} once into ${rel(HIVE_ROUTER_ROOT)} (~25 minutes; nightly Rust because its dependencies need rustc 1.97, ` +
      `the graphiql feature skips fetching the Laboratory UI from npm): cargo ${HIVE_ROUTER_BUILD.join(' ')}; log ${rel(logFile)}`,
  );
  const fd = openSync(logFile, 'w');
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('cargo', HIVE_ROUTER_BUILD, { cwd: REPO_ROOT, stdio: ['ignore', fd, fd] });
      child.once('error', () => resolve(-1));
      child.once('exit', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`build failed (exit ${code}), see ${rel(logFile)}`);
  } finally {
    closeSync(fd);
  }
  if (!existsSync(HIVE_ROUTER_BIN)) throw new Error(`build finished but ${rel(HIVE_ROUTER_BIN)} is missing, see ${rel(logFile)}`);
  return HIVE_ROUTER_BIN;
}

/**
 * The router's configuration (YAML, `ROUTER_CONFIG_FILE_PATH`): the supergraph from a file, listen
 * address, logs at warn, the Laboratory off, and its in-flight de-duplication of identical
 * subgraph requests on (its default) or off.
 */
export function hiveRouterConfig(supergraphPath: string, port: number, dedup: boolean): string {
  return [
    'log:',
    '  level: warn',
    'laboratory:',
    '  enabled: false',
    'supergraph:',
    '  source: file',
    `  path: ${JSON.stringify(supergraphPath)}`,
    'http:',
    '  host: 127.0.0.1',
    `  port: ${port}`,
    '  shutdown_timeout: 1s',
    'traffic_shaping:',
    '  all:',
    `    dedupe_enabled: ${dedup}`,
    '',
  ].join('\n');
}

/** Starts the router on a free port and waits for its `/readiness` (the supergraph loaded). */
export async function startHiveRouter(
  name: string,
  bin: string,
  supergraphPath: string,
  dedup: boolean,
): Promise<{ proc: ServiceProcess; config: string }> {
  const port = await freePort();
  const config = hiveRouterConfig(supergraphPath, port, dedup);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'tm-bench-router-')), 'router.config.yaml');
  writeFileSync(file, config);
  // a clean environment: the router reads PORT, HOST, LOG_LEVEL, … from it as overrides
  const proc = await spawnCommand(name, bin, [], { PATH: process.env.PATH, ROUTER_CONFIG_FILE_PATH: file }, port, {
    healthPath: '/readiness',
    timeoutMs: 60_000,
    keepChars: 50_000,
    killAfterMs: 5000,
  });
  return { proc, config };
}
