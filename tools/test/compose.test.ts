import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { baseConfigSchema } from '@tm/kit/infra';
import { serviceSubgraphs, REPO_ROOT } from '@tm/tools/compose';
import { parse } from 'yaml';
import type { z } from 'zod';
import { gatewayConfigSchema } from '../../gateway/src/config';
import { usersConfigShape } from '../../subgraphs/users/src/config';

/**
 * docker-compose.yml and the Dockerfile against the code: docker-compose must accept the file,
 * every subgraph of schema/subgraphs.json must be a service on its port, the gateway must reach
 * each one, and every variable the services' config schemas require must be set.
 * Needs only the `docker-compose` binary (no Docker engine): `docker-compose config` renders the file.
 */

const SECRET = 'compose-test-secret-0123456789abcdef0123456789';
const ENCRYPTION_KEYS = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
/** What `docker compose up` needs from the operator. */
const REQUIRED_ENV = { INTERNAL_SECRET: SECRET, ENCRYPTION_KEYS, MINIO_ROOT_PASSWORD: 'compose-test-minio-secret' };
/** Infrastructure: the stores, and the files subgraph's storage (MinIO, its bucket set-up) and scanner (clamd). */
const INFRA = ['mongo', 'redis', 'minio', 'minio-init', 'clamav'];
/** The optional `monitoring` profile (`docker-compose --profile monitoring up`). */
const MONITORING = ['prometheus', 'grafana'];

interface ComposePort {
  target: number | string;
  published?: number | string;
}
interface ComposeService {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  environment?: Record<string, string | null>;
  ports?: Array<ComposePort | string>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  restart?: string;
  profiles?: string[];
  volumes?: Array<string | { type?: string; source?: string; target?: string; read_only?: boolean }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Runs docker-compose on the repo's file with exactly the given environment (no leaks from the caller's). */
function dockerCompose(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
      ...env,
    },
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'the `docker-compose` binary is not on PATH: install it with `apt-get install -y docker-compose` (CI installs it)',
    );
  }
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Keys of a zod object schema that have neither a default nor `.optional()`. */
function requiredKeys(schema: { shape: Record<string, z.ZodType> }): string[] {
  return Object.entries(schema.shape)
    .filter(([, field]) => !field.safeParse(undefined).success)
    .map(([key]) => key);
}

function portOf(url: string): number {
  const u = new URL(url);
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
}

function publishedPorts(svc: ComposeService): Array<{ target: number; published: number | undefined }> {
  return (svc.ports ?? []).map((p) => {
    if (typeof p === 'string') {
      const parts = p.split(':');
      return {
        target: Number(parts[parts.length - 1]),
        published: parts.length > 1 ? Number(parts[parts.length - 2]) : undefined,
      };
    }
    return { target: Number(p.target), published: p.published === undefined ? undefined : Number(p.published) };
  });
}

function healthcheckText(svc: ComposeService): string {
  const test = svc.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
}

function dependsOn(svc: ComposeService): Record<string, string | undefined> {
  const d = svc.depends_on ?? {};
  return Array.isArray(d)
    ? Object.fromEntries(d.map((n) => [n, undefined]))
    : Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v.condition]));
}

function envOf(svc: ComposeService): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, v ?? undefined]));
}

function issues(result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } }): string[] {
  return result.success ? [] : (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('docker-compose.yml', () => {
  // the ops subgraph is served inside the gateway: no service of its own
  const subgraphs: Array<{ name: string; url: string }> = serviceSubgraphs();
  let compose: ComposeFile;

  beforeAll(() => {
    const r = dockerCompose(['config'], REQUIRED_ENV);
    if (r.status !== 0) throw new Error(`docker-compose config failed (${r.status}):\n${r.stderr}`);
    compose = parse(r.stdout) as ComposeFile;
  });

  it('is accepted by `docker-compose config -q` when INTERNAL_SECRET, ENCRYPTION_KEYS and MINIO_ROOT_PASSWORD are set', () => {
    const r = dockerCompose(['config', '-q'], REQUIRED_ENV);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('is refused when INTERNAL_SECRET is unset', () => {
    const r = dockerCompose(['config', '-q'], { ...REQUIRED_ENV, INTERNAL_SECRET: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('INTERNAL_SECRET');
  });

  it('is refused when ENCRYPTION_KEYS is unset', () => {
    const r = dockerCompose(['config', '-q'], { ...REQUIRED_ENV, ENCRYPTION_KEYS: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('ENCRYPTION_KEYS');
  });

  it('is refused when MINIO_ROOT_PASSWORD is unset', () => {
    const r = dockerCompose(['config', '-q'], { ...REQUIRED_ENV, MINIO_ROOT_PASSWORD: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('MINIO_ROOT_PASSWORD');
  });

  it('has one service per subgraph of schema/subgraphs.json, plus gateway and the infrastructure (no profile: always started)', () => {
    const always = Object.entries(compose.services).filter(([, svc]) => !svc.profiles?.length);
    expect(always.map(([name]) => name).sort()).toEqual([...subgraphs.map((s) => s.name), 'gateway', ...INFRA].sort());
  });

  describe('monitoring profile', () => {
    /** Host paths of a service's bind mounts, relative to the repo, by their target in the container. */
    const mounts = (svc: ComposeService) =>
      Object.fromEntries(
        (svc.volumes ?? []).map((v) => {
          const [source = '', target = ''] = typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target ?? ''];
          return [target, path.isAbsolute(source) ? path.relative(REPO_ROOT, source) : source];
        }),
      );

    it('is accepted by `docker-compose --profile monitoring config -q`', () => {
      const r = dockerCompose(['--profile', 'monitoring', 'config', '-q'], REQUIRED_ENV);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    });

    it('adds Prometheus and Grafana only under the `monitoring` profile, on loopback ports', () => {
      for (const name of MONITORING) {
        const svc = compose.services[name]!;
        expect({ name, profiles: svc.profiles }).toEqual({ name, profiles: ['monitoring'] });
        for (const p of svc.ports ?? []) expect(JSON.stringify(p)).toContain('127.0.0.1');
        expect(healthcheckText(svc)).not.toBe('');
      }
    });

    it("Prometheus loads the repo's scrape config and rules, and scrapes every app service on its metrics port", () => {
      const m = mounts(compose.services.prometheus!);
      expect(m['/etc/prometheus/prometheus.yml']).toBe('ops/prometheus/prometheus.yml');
      expect(m['/etc/prometheus/alerts.yml']).toBe('ops/prometheus/alerts.yml');
      const config = parse(readFileSync(path.join(REPO_ROOT, 'ops/prometheus/prometheus.yml'), 'utf8')) as {
        rule_files: string[];
        scrape_configs: Array<{ static_configs: Array<{ targets: string[]; labels?: Record<string, string> }> }>;
      };
      expect(config.rule_files).toEqual(['alerts.yml']);
      const targets = config.scrape_configs.flatMap((c) =>
        c.static_configs.flatMap((s) => s.targets.map((t) => [t, s.labels?.service])),
      );
      const apps = ['gateway', ...subgraphs.map((s) => s.name)];
      for (const app of apps) {
        const port = envOf(compose.services[app]!).METRICS_PORT;
        expect({ app, target: targets.find(([t]) => t!.startsWith(`${app}:`)) }).toEqual({
          app,
          target: [`${app}:${port}`, app],
        });
      }
    });

    it("Grafana is provisioned with the Prometheus datasource and the repo's boards", () => {
      const m = mounts(compose.services.grafana!);
      expect(m['/etc/grafana/provisioning']).toBe('ops/grafana/provisioning');
      const boards = m['/var/lib/grafana/dashboards'];
      expect(boards).toBe('ops/grafana/dashboards');
      const ds = parse(readFileSync(path.join(REPO_ROOT, 'ops/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
        datasources: Array<{ uid: string; url: string }>;
      };
      expect(ds.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', url: 'http://prometheus:9090' })]);
      const provider = parse(
        readFileSync(path.join(REPO_ROOT, 'ops/grafana/provisioning/dashboards/task-manager.yml'), 'utf8'),
      ) as {
        providers: Array<{ options: { path: string } }>;
      };
      expect(provider.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
      // every panel and query of every board asks the provisioned datasource
      const files = readdirSync(path.join(REPO_ROOT, boards!)).filter((f) => f.endsWith('.json'));
      expect(files.length).toBe(5);
      for (const f of files) {
        const board = JSON.parse(readFileSync(path.join(REPO_ROOT, boards!, f), 'utf8')) as {
          panels: Array<{ datasource?: { uid?: string }; targets?: Array<{ datasource?: { uid?: string } }> }>;
        };
        const uids = new Set(
          board.panels.flatMap((p) => [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)]),
        );
        expect({ f, uids: [...uids] }).toEqual({ f, uids: ['prometheus'] });
      }
    });
  });

  it('runs MongoDB 7 as a replica set and Redis 7, on named volumes, with healthchecks', () => {
    const { mongo, redis } = compose.services;
    expect(mongo?.image).toMatch(/^mongo:7/);
    expect(redis?.image).toMatch(/^redis:7/);
    for (const svc of [mongo!, redis!]) {
      expect(healthcheckText(svc)).not.toBe('');
      expect(svc.restart).toBe('unless-stopped');
    }
    const named = Object.keys(compose.volumes ?? {});
    expect(named.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(mongo)).toContain('rs0');
  });

  it.each(subgraphs.map((s) => [s.name, s] as const))(
    'subgraph %s: built from the Dockerfile, on the port of its URL, not published (only the gateway is public)',
    (name, sg) => {
      const svc = compose.services[name]!;
      const port = portOf(sg.url);
      expect(svc.build?.args?.SERVICE).toBe(name);
      const env = envOf(svc);
      expect(Number(env[`${name.toUpperCase()}_PORT`] ?? env.PORT)).toBe(port);
      expect(publishedPorts(svc)).toEqual([]);
      expect(healthcheckText(svc)).toContain(`:${port}/health`);
    },
  );

  it('the gateway is published on 4000 and reaches every subgraph through <NAME>_URL', () => {
    const gw = compose.services.gateway!;
    const env = envOf(gw);
    expect(gw.build?.args?.SERVICE).toBe('gateway');
    const parsed = gatewayConfigSchema.safeParse({ ...env, PORT: env.GATEWAY_PORT ?? env.PORT });
    expect(parsed.success && parsed.data.PORT).toBe(4000);
    expect(publishedPorts(gw)).toContainEqual({ target: 4000, published: 4000 });
    expect(healthcheckText(gw)).toContain(':4000/health');
    for (const sg of subgraphs) {
      const url = env[`${sg.name.toUpperCase()}_URL`];
      expect({ subgraph: sg.name, url }).toEqual({
        subgraph: sg.name,
        url: `http://${sg.name}:${portOf(sg.url)}${new URL(sg.url).pathname}`,
      });
    }
  });

  it('every app service: healthcheck, restart policy, and waits for healthy dependencies', () => {
    const deps: Record<string, string[]> = { gateway: ['mongo', 'redis', ...subgraphs.map((s) => s.name)] };
    for (const sg of subgraphs) deps[sg.name] = ['mongo', 'redis'];
    for (const [name, needs] of Object.entries(deps)) {
      const svc = compose.services[name]!;
      expect({ name, healthcheck: healthcheckText(svc).includes('/health') }).toEqual({ name, healthcheck: true });
      expect({ name, restart: svc.restart }).toEqual({ name, restart: 'unless-stopped' });
      const d = dependsOn(svc);
      for (const n of needs)
        expect({ name, dependsOn: n, condition: d[n] }).toEqual({ name, dependsOn: n, condition: 'service_healthy' });
    }
  });

  it('sets every variable the config schemas require, with values those schemas accept', () => {
    const subgraphRequired = requiredKeys(baseConfigSchema);
    const gatewayRequired = requiredKeys(gatewayConfigSchema);
    // the schemas themselves: if these change, compose must follow (this test then checks it)
    expect(subgraphRequired).toEqual(expect.arrayContaining(['MONGO_URL', 'INTERNAL_SECRET']));
    expect(gatewayRequired).toEqual(expect.arrayContaining(['MONGO_URL', 'INTERNAL_SECRET']));

    const checks: Array<[string, string[], z.ZodType]> = [
      ['gateway', gatewayRequired, gatewayConfigSchema],
      ...subgraphs.map((s) => [s.name, subgraphRequired, baseConfigSchema] as [string, string[], z.ZodType]),
    ];
    for (const [name, required, schema] of checks) {
      const env = envOf(compose.services[name]!);
      expect({ name, missing: required.filter((k) => !env[k]) }).toEqual({ name, missing: [] });
      // Redis in one of its three forms (a URL here; cluster nodes or sentinels elsewhere): the schema needs one
      expect({ name, redis: env.REDIS_URL ?? env.REDIS_CLUSTER_NODES ?? env.REDIS_SENTINELS }).toEqual({
        name,
        redis: 'redis://redis:6379',
      });
      expect({ name, invalid: issues(schema.safeParse(env)) }).toEqual({ name, invalid: [] });
      // production mode, listening beyond the container's loopback
      expect({ name, NODE_ENV: env.NODE_ENV, HOST: env.HOST }).toEqual({ name, NODE_ENV: 'production', HOST: '0.0.0.0' });
      expect({ name, INTERNAL_SECRET: env.INTERNAL_SECRET }).toEqual({ name, INTERNAL_SECRET: SECRET });
    }
  });

  it("sets the users service's own required variables (ENCRYPTION_KEYS), with values it accepts", () => {
    const schema = baseConfigSchema.extend(usersConfigShape);
    const env = envOf(compose.services.users!);
    expect(requiredKeys(schema)).toEqual(expect.arrayContaining(['ENCRYPTION_KEYS']));
    expect({ missing: requiredKeys(schema).filter((k) => !env[k]) }).toEqual({ missing: [] });
    expect({ invalid: issues(schema.safeParse(env)) }).toEqual({ invalid: [] });
    expect(env.ENCRYPTION_KEYS).toBe(ENCRYPTION_KEYS);
  });

  it('URLs in the services point at compose services, never at the container itself', () => {
    const names = new Set(Object.keys(compose.services));
    const wrong: string[] = [];
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(envOf(svc))) {
        if (key.endsWith('_URL') && value && !names.has(new URL(value).hostname)) wrong.push(`${name}: ${key}=${value}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const workspaces = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] })
    .workspaces;

  it('installs and ships every workspace (package.json before `npm ci`, dist in the final image)', () => {
    const [build = '', runtime = ''] = dockerfile.split(/^FROM .* AS runtime$/m);
    for (const ws of workspaces) {
      expect({ ws, manifest: build.includes(`COPY ${ws}/package.json`) }).toEqual({ ws, manifest: true });
      expect({ ws, dist: runtime.includes(`/app/${ws}/dist`) }).toEqual({ ws, dist: true });
    }
    for (const sg of subgraphs()) expect(workspaces).toContain(`subgraphs/${sg}`);
  });

  it('ships the production dependencies npm installs under a workspace (not hoisted) with that workspace', () => {
    const [, runtime = ''] = dockerfile.split(/^FROM .* AS runtime$/m);
    const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const nested = new Set(
      Object.entries(lock.packages)
        .filter(([, info]) => !info.dev)
        .map(([p]) => workspaces.find((ws) => p.startsWith(`${ws}/node_modules/`)))
        .filter((ws): ws is string => !!ws),
    );
    for (const ws of nested) expect({ ws, copied: runtime.includes(`/app/${ws}/node_modules`) }).toEqual({ ws, copied: true });
  });

  it('runs as a non-root user, in production mode, selecting the service with SERVICE', () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/NODE_ENV=production/);
    expect(dockerfile).toMatch(/^ARG SERVICE/m);
    // the CMD, run by sh with `exec node` swapped for `echo`: which entry point each SERVICE starts
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
    expect(cmd.slice(0, 2)).toEqual(['sh', '-c']);
    expect(cmd[2]).toContain('exec node');
    const entry = (service: string) =>
      spawnSync('sh', ['-c', cmd[2]!.replaceAll('exec node', 'echo')], {
        env: { SERVICE: service },
        encoding: 'utf8',
      }).stdout.trim();
    // the gateway with its young-generation size (fewer scavenges per request)
    expect(entry('gateway')).toBe('--max-semi-space-size=64 gateway/dist/main.js');
    for (const sg of subgraphs()) expect(entry(sg)).toBe(`subgraphs/${sg}/dist/main.js`);
  });

  function subgraphs(): string[] {
    return serviceSubgraphs().map((s: { name: string }) => s.name);
  }
});
