import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../net';
import { waitFor } from './wait';

const run = promisify(execFile);

export interface RedisCluster {
  /** `host:port,host:port,…` as REDIS_CLUSTER_NODES takes it. */
  nodes: string;
  ports: number[];
  stop(): Promise<void>;
}

export interface RedisSentinel {
  /** `host:port` of the sentinel, as REDIS_SENTINELS takes it. */
  sentinels: string;
  /** The monitored master's name (REDIS_SENTINEL_NAME). */
  name: string;
  /** The master's own port (to look at it directly). */
  masterPort: number;
  stop(): Promise<void>;
}

function startServer(args: string[], dir: string): ChildProcess {
  const child = spawn('redis-server', args, { cwd: dir, stdio: 'ignore' });
  child.on('error', () => undefined);
  return child;
}

async function stopAll(children: ChildProcess[], dir: string): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => c.kill('SIGKILL'), 5000);
          c.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
}

async function answers(port: number, ...cmd: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...cmd]).catch(() => ({ stdout: '' }));
  return stdout;
}

/**
 * A Redis Cluster of `masters` masters (no replicas) from Debian's redis-server on free loopback
 * ports, each with its bus port chosen too, created with `redis-cli --cluster create`; resolves once
 * every node reports `cluster_state:ok`. Nothing persists (a temporary directory, removed on stop).
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tm-redis-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const bus = await freePort();
      ports.push(port);
      const own = path.join(dir, String(port));
      children.push(
        startServer(
          [
            '--port',
            String(port),
            '--cluster-port',
            String(bus),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `${own}.conf`,
            '--cluster-node-timeout',
            '2000',
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            dir,
          ],
          dir,
        ),
      );
    }
    for (const port of ports)
      await waitFor(async () => (await answers(port, 'ping')).trim() === 'PONG', `redis cluster node ${port}`, 10_000);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const port of ports) {
      await waitFor(
        async () => (await answers(port, 'cluster', 'info')).includes('cluster_state:ok'),
        `cluster_state:ok on ${port}`,
        20_000,
      );
    }
  } catch (err) {
    await stopAll(children, dir);
    throw err;
  }
  return { nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), ports, stop: () => stopAll(children, dir) };
}

/** One Redis master and one sentinel watching it (`redis-server --sentinel`), on free loopback ports. */
export async function startRedisSentinel(name = 'tm-master'): Promise<RedisSentinel> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tm-redis-sentinel-'));
  const children: ChildProcess[] = [];
  let port = 0;
  let master = 0;
  try {
    master = await freePort();
    children.push(
      startServer(['--port', String(master), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], dir),
    );
    await waitFor(async () => (await answers(master, 'ping')).trim() === 'PONG', 'sentinel-watched master', 10_000);
    port = await freePort();
    // a sentinel rewrites its configuration file, so it must have one of its own
    const conf = path.join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${port}\nbind 127.0.0.1\nsentinel monitor ${name} 127.0.0.1 ${master} 1\n`);
    children.push(startServer([conf, '--sentinel'], dir));
    await waitFor(
      async () => (await answers(port, 'sentinel', 'get-master-addr-by-name', name)).includes(String(master)),
      'the sentinel to know its master',
      10_000,
    );
  } catch (err) {
    await stopAll(children, dir);
    throw err;
  }
  return { sentinels: `127.0.0.1:${port}`, name, masterPort: master, stop: () => stopAll(children, dir) };
}
