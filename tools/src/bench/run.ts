import { existsSync, mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevstack } from '../devstack';
import { REPO_ROOT } from '../testing/processes';
import { HIVE_ROUTER_BIN, HIVE_ROUTER_VERSION } from './hive-router';
import { part1, type Part1Result } from './part1';
import { part2and3, type Part2Result } from './part2';
import { part4, type Part4Result } from './part4';
import { part5, type Part5Result } from './part5';
import { report } from './report';

/**
 * `npm run bench` (`--quick` for a ~2-minute version, `--parts=1,2,4` to pick parts; 5 is analytics). Measures on
 * this machine, prints a table with PASS/FAIL per goal and writes tools/bench/results/<time>.json.
 * `BENCH_HIVE_ROUTER=off` leaves out part 1's Hive Router reference rows.
 */
/** A package's installed version: the repo's install, or the bench peers' own (tools/bench/peers). */
function version(pkg: string): string {
  for (const dir of [REPO_ROOT, path.join(REPO_ROOT, 'tools/bench/peers')]) {
    try {
      return (JSON.parse(readFileSync(path.join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string })
        .version;
    } catch {
      /* not in this install */
    }
  }
  return 'missing';
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const partsArg = args.find((a) => a.startsWith('--parts='))?.slice(8);
  const parts = new Set((partsArg ?? '1,2,3,4,5').split(',').map(Number));
  const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);
  const started = new Date();
  const machine = {
    date: started.toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    mode: quick ? 'quick' : 'full',
  };
  const versions = Object.fromEntries(
    [
      '@apollo/gateway',
      '@apollo/server',
      'graphql',
      'undici',
      '@graphql-hive/gateway',
      '@graphql-hive/gateway-runtime',
      '@graphql-hive/router-runtime',
      '@graphql-hive/router-query-planner',
      'autocannon',
      'graphql-ws',
    ].map((p) => [p, version(p)]),
  );
  // part 1's reference: a cached native build (tools/src/bench/hive-router.ts)
  versions['hive-router (crates.io)'] = existsSync(HIVE_ROUTER_BIN) ? HIVE_ROUTER_VERSION : 'not built';
  log(
    `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')} (${machine.mode})`,
  );
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tm-bench-store-'));
  // the store runs the whole bench: the JVM's full JIT (tests' stores compile for a quick start)
  const stack = await startDevstack(process.env, { dataDir, mongoBackend: 'memory', mongoJit: 'steady' });
  const common = {
    quick,
    log,
    rounds: quick ? 3 : 4,
    warmupSec: quick ? 2 : 3,
    durationSec: quick ? 4 : 10,
    connections: 50,
  };
  let p1: Part1Result | undefined;
  let p2: Part2Result | undefined;
  let p4: Part4Result | undefined;
  let p5: Part5Result | undefined;
  try {
    process.env.MONGO_URL = stack.mongoUrl; // the gateway's ops plane keeps its audit log there
    // --only-ours: our gateway alone (e.g. to profile it with BENCH_CPU_PROF=<dir>)
    const onlyOurs = args.includes('--only-ours');
    if (parts.has(1)) p1 = await part1(stack, { ...common, variants: !onlyOurs, peers: !onlyOurs });
    if (parts.has(2) || parts.has(3) || parts.has(4)) {
      const res = await part2and3(stack, {
        ...common,
        part2: parts.has(2),
        part3: parts.has(3),
        part4: parts.has(4) ? (s) => part4(s, { quick, log }) : undefined,
      });
      p2 = res.part2;
      p4 = res.part4;
    }
    if (parts.has(5)) p5 = await part5(stack, { quick, log });
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const { text, goals } = report({ machine, p1, p2, p4, p5 });
  process.stdout.write(`\n${text}\n`);
  const dir = path.join(REPO_ROOT, 'tools/bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${started.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  writeFileSync(
    file,
    JSON.stringify({ machine, versions, goals, part1: p1, part2: p2, part4: p4, part5: p5, table: text }, null, 2),
  );
  log(`results: ${path.relative(REPO_ROOT, file)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
