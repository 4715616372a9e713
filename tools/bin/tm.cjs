#!/usr/bin/env node
'use strict';
/**
 * `npm start` / `npm test` / `npm run compose` on a fresh clone: installs what is missing
 * (dependencies, redis-server, Java + Maven for the embedded store; for `test` also clamd and moto's S3
 * server), builds, then does the work. Plain Node, no dependencies, because it runs before `npm ci`.
 */
const { spawnSync, spawn } = require('node:child_process');
const { existsSync, statSync, readFileSync } = require('node:fs');
const { randomBytes } = require('node:crypto');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const command = process.argv[2];
const passthrough = process.argv.slice(3);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`[tm] \`${cmd} ${args.join(' ')}\` failed`);
    process.exit(r.status ?? 1);
  }
}

function onPath(bin) {
  const dirs = (process.env.PATH || '').split(path.delimiter);
  dirs.push(path.join(process.env.GOPATH || path.join(require('node:os').homedir(), 'go'), 'bin'));
  return dirs.some((d) => d && existsSync(path.join(d, bin)));
}

function ensureDependencies() {
  const marker = path.join(root, 'node_modules/.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (!existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000) {
    console.log('[tm] installing dependencies (npm ci)');
    run('npm', ['ci', '--no-audit', '--no-fund']);
  }
}

/**
 * Node flags the gateway runs with (also in the Dockerfile): a 64 MiB young generation, so the
 * short-lived objects of each request die in fewer scavenges (about 20 % less CPU per request on
 * the federation benchmark's query, measured with tools/bench).
 */
const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=64'];

/** The bench's peer gateways have an install of their own (tools/bench/peers), made when the bench runs. */
function ensureBenchPeers() {
  const dir = path.join(root, 'tools/bench/peers');
  const marker = path.join(dir, 'node_modules/.package-lock.json');
  if (!existsSync(marker) || statSync(path.join(dir, 'package-lock.json')).mtimeMs > statSync(marker).mtimeMs + 1000) {
    console.log('[tm] installing the bench peers (tools/bench/peers: npm ci)');
    run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir });
  }
}

function ensureServices() {
  const needRedis = !process.env.REDIS_URL && !onPath('redis-server');
  const needMongo = !process.env.MONGO_URL && !onPath('mongod') && !(onPath('javac') && onPath('mvn'));
  // the tests also start a real clamd and moto's S3 server (tools/src/testing/clamd.ts, moto.ts)
  const forTests = command === 'test';
  const needClamd = forTests && !onPath('clamd') && !existsSync('/usr/sbin/clamd');
  const needMoto = forTests && !onPath('moto_server') && !existsSync(path.join(root, '.devstack/venv/bin/moto_server'));
  const needOpenssl = forTests && !onPath('openssl');
  // the live board's browser test drives Debian's chromium (tools/live-board/test)
  const needChromium = forTests && !onPath('chromium') && !existsSync('/usr/bin/chromium');
  // the Kubernetes manifests' test (tools/test/k8s.test.ts): kustomize and kubernetes-validate under .devstack
  const needK8sTools =
    forTests &&
    (!existsSync(path.join(root, '.devstack/bin/kustomize')) ||
      !existsSync(path.join(root, '.devstack/venv/bin/kubernetes-validate')));
  if (needRedis || needMongo || needClamd || needMoto || needOpenssl || needChromium || needK8sTools) {
    run('bash', [path.join(root, 'tools/install-services.sh')], {
      env: { ...process.env, TM_INSTALL_TEST_SERVICES: forTests ? '1' : process.env.TM_INSTALL_TEST_SERVICES || '0' },
    });
  }
}

function build() {
  console.log('[tm] building (tsc -b)');
  run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b']);
}

/**
 * Secrets that must survive restarts of `npm start` (data sealed with ENCRYPTION_KEYS is unreadable
 * without it): made once, kept in .devstack/secrets.json (owner-only), reused after.
 */
function persistentSecrets() {
  const fs = require('node:fs');
  const file = path.join(root, '.devstack', 'secrets.json');
  let secrets = {};
  try {
    secrets = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    /* first start */
  }
  if (!secrets.ENCRYPTION_KEYS) {
    secrets.ENCRYPTION_KEYS = `dev1:${randomBytes(32).toString('base64')}`;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}

function waitHealthy(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () =>
      fetch(url)
        .then((r) => (r.ok ? resolve() : retry()))
        .catch(retry);
    const retry = () => (Date.now() > deadline ? reject(new Error(`${url} not healthy`)) : setTimeout(tick, 200));
    tick();
  });
}

/**
 * `start`: every service from its build. `dev`: the same, plus `tsc -b --watch`, and every service
 * under `node --watch`, so a saved change is rebuilt and the services it touches restart.
 */
async function start(dev = false) {
  const { startDevstack } = require(path.join(root, 'tools/dist/devstack'));
  const stack = await startDevstack(process.env, { dataDir: path.join(root, '.devstack') });
  console.log(`[tm] MongoDB-compatible store (${stack.mongoKind}): ${stack.mongoUrl}`);
  console.log(`[tm] Redis (${stack.redisKind}): ${stack.redisUrl}`);
  const env = {
    ...process.env,
    NODE_ENV: process.env.NODE_ENV || 'development',
    MONGO_URL: stack.mongoUrl,
    REDIS_URL: stack.redisUrl,
    INTERNAL_SECRET: process.env.INTERNAL_SECRET || randomBytes(32).toString('hex'),
    // the gateway's default origins (Apollo Studio, Sandbox) plus the live board of `npm run live-board`
    CORS_ORIGINS:
      process.env.CORS_ORIGINS ||
      [
        'https://studio.apollographql.com',
        'https://sandbox.embed.apollographql.com',
        `http://localhost:${liveBoardPort()}`,
        `http://127.0.0.1:${liveBoardPort()}`,
      ].join(','),
    ENCRYPTION_KEYS: process.env.ENCRYPTION_KEYS || persistentSecrets().ENCRYPTION_KEYS,
  };
  const { subgraphs } = JSON.parse(readFileSync(path.join(root, 'schema/subgraphs.json'), 'utf8'));
  const children = [];
  let stopping = false;
  const stopAll = async (code) => {
    if (stopping) return;
    stopping = true;
    for (const c of children.reverse()) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    await stack.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  if (dev) {
    const watcher = spawn(
      process.execPath,
      [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', '--watch', '--preserveWatchOutput'],
      {
        cwd: root,
        stdio: 'inherit',
      },
    );
    children.push(watcher);
  }
  const launch = (name, script, nodeFlags = []) => {
    // under --watch a crashed service waits for the next change instead of exiting
    const args = [...nodeFlags, ...(dev ? ['--watch', path.join(root, script)] : [path.join(root, script)])];
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
    child.once('exit', (code) => {
      if (!stopping) {
        console.error(`[tm] ${name} exited (${code}); stopping`);
        void stopAll(1);
      }
    });
    children.push(child);
  };
  // an entry served by the gateway itself (the ops subgraph) has no process of its own
  for (const s of subgraphs.filter((x) => !x.servedBy)) {
    launch(s.name, `subgraphs/${s.name}/dist/main.js`);
    const port = process.env[`${s.name.toUpperCase()}_PORT`] || new URL(s.url).port;
    await waitHealthy(`http://127.0.0.1:${port}/health`, 30_000);
  }
  launch('gateway', 'gateway/dist/main.js', GATEWAY_NODE_FLAGS);
  const port = process.env.GATEWAY_PORT || '4000';
  await waitHealthy(`http://127.0.0.1:${port}/health`, 30_000);
  console.log(`\n[tm] ready. Explorer: http://localhost:${port}/graphql  (Ctrl+C stops everything)`);
  console.log(
    `[tm] Live board: http://localhost:${liveBoardPort()}/  (serve it with \`npm run live-board\` in another terminal)\n`,
  );
  if (dev)
    console.log(
      '[tm] dev: rebuilding on save (tsc -b --watch); services restart when their build changes. A schema change needs `npm run compose`.\n',
    );
}

function liveBoardPort() {
  return process.env.LIVE_BOARD_PORT || '4100';
}

/** `npm run live-board`: builds the web app with Vite and serves it (tools/src/live-board.ts) against the local gateway. */
function liveBoard() {
  console.log('[tm] building the live board (vite build)');
  run(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build'], {
    cwd: path.join(root, 'tools/live-board'),
  });
  run(process.execPath, [path.join(root, 'tools/dist/live-board.js')]);
}

async function main() {
  if (command === 'live-board') {
    ensureDependencies();
    build();
    return liveBoard();
  }
  ensureDependencies();
  ensureServices();
  build();
  if (command === 'start') return start();
  if (command === 'dev') return start(true);
  if (command === 'bench') {
    ensureBenchPeers();
    return run(process.execPath, [path.join(root, 'tools/dist/bench/run.js'), ...passthrough]);
  }
  if (command === 'compose') return run(process.execPath, [path.join(root, 'tools/dist/compose.js'), ...passthrough]);
  if (command === 'test') {
    // ts-jest compiles tests without type checks (isolatedModules): check them here
    run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.test.json']);
    run(process.execPath, [path.join(root, 'tools/dist/compose.js'), '--check']);
    run(process.execPath, [path.join(root, 'node_modules/eslint/bin/eslint.js'), '.']);
    // one format for the whole tree (npm run fix:format rewrites it)
    run(process.execPath, [path.join(root, 'node_modules/prettier/bin/prettier.cjs'), '--check', '--log-level', 'warn', '.']);
    const report = path.join(require('node:os').tmpdir(), `tm-jest-${process.pid}.json`);
    const jest = spawnSync(
      process.execPath,
      [path.join(root, 'node_modules/jest/bin/jest.js'), '--json', `--outputFile=${report}`, ...passthrough],
      { cwd: root, stdio: 'inherit' },
    );
    try {
      const r = JSON.parse(readFileSync(report, 'utf8'));
      require('node:fs').rmSync(report, { force: true });
      const skipped = r.numPendingTests + (r.numTodoTests || 0);
      console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
      if (r.numTotalTests === 0) process.exit(1);
    } catch {
      /* jest failed before writing its report; its own output says why */
    }
    process.exit(jest.status ?? 1);
  }
  console.error('usage: tm.cjs start|dev|test|compose|bench|live-board');
  process.exit(2);
}

main().catch((err) => {
  console.error(`[tm] ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
