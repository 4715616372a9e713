import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, serviceSubgraphs } from '@tm/tools/compose';

/**
 * The Kubernetes manifests (deploy/k8s): each overlay renders with kustomize, passes the Kubernetes
 * schemas (kubernetes-validate, strict), and has what the README's Operations → Deploying promises.
 * Both tools are installed by tools/install-services.sh into .devstack.
 */

const run = promisify(execFile);
const K8S = path.join(REPO_ROOT, 'deploy/k8s');
const KUSTOMIZE = path.join(REPO_ROOT, '.devstack/bin/kustomize');
const VALIDATE = path.join(REPO_ROOT, '.devstack/venv/bin/kubernetes-validate');
const OVERLAYS = ['dev', 'production'];

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are plain JSON trees */
type Obj = any;

interface Rendered {
  yaml: string;
  objects: Obj[];
}

const rendered = new Map<string, Rendered>();
let tmp: string;

/** The services that run as Deployments: the gateway and every subgraph with its own port. */
const services = [
  { name: 'gateway', port: 4000 },
  ...serviceSubgraphs().map((s) => ({ name: s.name, port: Number(new URL(s.url).port) })),
];

beforeAll(async () => {
  for (const tool of [KUSTOMIZE, VALIDATE]) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: run bash tools/install-services.sh`);
  }
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tm-k8s-'));
  await Promise.all(
    OVERLAYS.map(async (overlay) => {
      const { stdout } = await run(KUSTOMIZE, ['build', path.join(K8S, 'overlays', overlay)], { maxBuffer: 16 * 1024 * 1024 });
      const objects = parseAllDocuments(stdout)
        .map((d) => d.toJSON() as Obj)
        .filter(Boolean);
      rendered.set(overlay, { yaml: stdout, objects });
    }),
  );
}, 60_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function of(overlay: string, kind: string): Obj[] {
  return rendered.get(overlay)!.objects.filter((o) => o.kind === kind);
}

function one(overlay: string, kind: string, name: string): Obj {
  const found = of(overlay, kind).find((o) => o.metadata.name === name);
  if (!found) throw new Error(`${overlay}: no ${kind} ${name}`);
  return found;
}

/** Whether a label selector (matchLabels / matchExpressions In, NotIn, Exists) selects these labels. */
function selects(selector: Obj, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector?.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** A ConfigMap's data by the name it had before kustomize's hash suffix. */
function configMap(overlay: string, name: string): Record<string, string> {
  const found = of(overlay, 'ConfigMap').filter((c) => c.metadata.name.replace(/-[a-z0-9]{10}$/, '') === name);
  expect(found).toHaveLength(1);
  return found[0].data ?? {};
}

/** What the container's environment holds from its ConfigMaps (env entries with a value win). */
function configEnv(overlay: string, container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const src of container.envFrom ?? []) {
    const cm = of(overlay, 'ConfigMap').find((c) => c.metadata.name === src.configMapRef?.name);
    if (!cm) throw new Error(`${overlay}: envFrom names a missing ConfigMap ${src.configMapRef?.name}`);
    Object.assign(env, cm.data ?? {});
  }
  for (const e of container.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  return env;
}

function portNumber(container: Obj, port: string | number): number {
  if (typeof port === 'number') return port;
  const found = (container.ports ?? []).find((p: Obj) => p.name === port);
  if (!found) throw new Error(`no container port named ${port}`);
  return found.containerPort;
}

/**
 * Who may reach pods with these labels on this container port, by the NetworkPolicies: app names of
 * the pods allowed (`app.kubernetes.io/name`), and `ns:<name>` for namespaces allowed.
 */
function allowedSources(overlay: string, labels: Record<string, string>, container: Obj, port: number): Set<string> {
  const pods = [...of(overlay, 'Deployment'), ...of(overlay, 'StatefulSet'), ...of(overlay, 'Job')].map(
    (w) => w.spec.template.metadata.labels as Record<string, string>,
  );
  const out = new Set<string>();
  for (const policy of of(overlay, 'NetworkPolicy')) {
    if (!selects(policy.spec.podSelector, labels)) continue;
    for (const rule of policy.spec.ingress ?? []) {
      const ports: Obj[] = rule.ports ?? [];
      if (ports.length && !ports.some((p) => portNumber(container, p.port) === port)) continue;
      for (const peer of rule.from ?? [{ namespaceSelector: {} }]) {
        if (peer.namespaceSelector) {
          out.add(`ns:${peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name'] ?? '*'}`);
        } else if (peer.podSelector) {
          for (const p of pods) if (selects(peer.podSelector, p)) out.add(p['app.kubernetes.io/name']!);
        } else out.add('ip');
      }
    }
  }
  return out;
}

/** Files under `dir` (recursively) whose name ends with `suffix`. */
function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...filesUnder(full, suffix));
    else if (name.endsWith(suffix)) out.push(full);
  }
  return out;
}

/** Which subgraphs each subgraph calls, from the `<NAME>_URL` settings its source reads. */
function internalCalls(): Map<string, Set<string>> {
  const names = services.map((s) => s.name).filter((n) => n !== 'gateway');
  const calls = new Map<string, Set<string>>();
  for (const caller of names) {
    const callees = new Set<string>();
    for (const file of filesUnder(path.join(REPO_ROOT, 'subgraphs', caller, 'src'), '.ts')) {
      const text = readFileSync(file, 'utf8');
      for (const callee of names)
        if (callee !== caller && new RegExp(`\\b${callee.toUpperCase()}_URL\\b`).test(text)) callees.add(callee);
    }
    calls.set(caller, callees);
  }
  return calls;
}

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  it('passes the Kubernetes schemas (kubernetes-validate --strict)', async () => {
    const file = path.join(tmp, `${overlay}.yaml`);
    writeFileSync(file, rendered.get(overlay)!.yaml);
    const result = await run(VALIDATE, ['--strict', '--quiet', file]).catch((err: { stdout?: string; stderr?: string }) => err);
    expect(`${result.stdout ?? ''}${result.stderr ?? ''}`.trim()).toBe('');
    expect(of(overlay, 'Deployment').length).toBeGreaterThanOrEqual(services.length);
  }, 60_000);

  it.each(services)('$name: probes, drain, resources, HPA at 70 % CPU, PDB, Service', ({ name, port }) => {
    const deploy = one(overlay, 'Deployment', name);
    const pod = deploy.spec.template;
    expect(deploy.spec.replicas).toBeUndefined(); // the HPA's
    const [app, ...others] = pod.spec.containers;
    expect(others).toHaveLength(0);
    const env = configEnv(overlay, app);
    const common = configMap(overlay, 'tm-config');

    // the service listens where the probes and the Service look
    expect(env[`${name.toUpperCase()}_PORT`]).toBe(String(port));
    expect(portNumber(app, 'http')).toBe(port);
    expect(portNumber(app, 'metrics')).toBe(Number(common.METRICS_PORT));
    expect(env.HOST).toBe('0.0.0.0');
    expect(app.readinessProbe.httpGet).toMatchObject({ path: '/ready' });
    expect(portNumber(app, app.readinessProbe.httpGet.port)).toBe(port);
    expect(app.livenessProbe.httpGet).toMatchObject({ path: '/health' });
    expect(portNumber(app, app.livenessProbe.httpGet.port)).toBe(port);

    // preStop sleep, then SIGTERM and SHUTDOWN_TIMEOUT_MS of draining, all inside the grace period
    const sleep = app.lifecycle.preStop.exec.command as string[];
    expect(sleep[0]).toBe('sleep');
    const drainSeconds = Number(sleep[1]) + Number(env.SHUTDOWN_TIMEOUT_MS) / 1000;
    expect(drainSeconds).toBeGreaterThan(Number(sleep[1]));
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(drainSeconds);

    for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) expect(app.resources[kind][r]).toBeTruthy();

    const hpa = of(overlay, 'HorizontalPodAutoscaler').filter(
      (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === name,
    );
    expect(hpa).toHaveLength(1);
    expect(hpa[0].spec.minReplicas).toBeGreaterThanOrEqual(overlay === 'production' ? 2 : 1);
    expect(hpa[0].spec.maxReplicas).toBeGreaterThanOrEqual(hpa[0].spec.minReplicas);
    expect(hpa[0].spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
    ]);

    const pdb = of(overlay, 'PodDisruptionBudget').filter((p) => selects(p.spec.selector, pod.metadata.labels));
    expect(pdb).toHaveLength(1);
    expect(selects(deploy.spec.selector, pod.metadata.labels)).toBe(true);

    const svc = one(overlay, 'Service', name);
    expect(selects({ matchLabels: svc.spec.selector }, pod.metadata.labels)).toBe(true);
    expect(svc.spec.ports.find((p: Obj) => p.name === 'http')).toMatchObject({ port, targetPort: 'http' });

    // an image from the overlay's `images:` with a tag; production never runs :latest
    expect(app.image).toMatch(/:[\w.-]+$/);
    if (overlay === 'production') expect(app.image).not.toMatch(/:latest$/);
  });

  it('gives the gateway every subgraph at its Service and port, and MONGO_URL a replica set', () => {
    const env = configEnv(overlay, one(overlay, 'Deployment', 'gateway').spec.template.spec.containers[0]);
    for (const s of services.filter((x) => x.name !== 'gateway'))
      expect(env[`${s.name.toUpperCase()}_URL`]).toBe(`http://${s.name}:${s.port}/graphql`);
    expect(env.JWKS_URL).toBe(`http://users:${services.find((s) => s.name === 'users')!.port}/.well-known/jwks.json`);

    const mongoUrl = configMap(overlay, 'tm-config').MONGO_URL!;
    expect(mongoUrl).toMatch(/[?&]replicaSet=rs0\b/);
    // as many hosts as the StatefulSet has members, and as the init Job initiates
    const members = one(overlay, 'StatefulSet', 'mongo').spec.replicas;
    const hosts = mongoUrl
      .replace(/^mongodb:\/\//, '')
      .split('/')[0]!
      .split(',');
    expect(hosts).toEqual(Array.from({ length: members }, (_, i) => `mongo-${i}.mongo:27017`));
    const init = one(overlay, 'Job', 'mongo-rs-init').spec.template.spec.containers[0];
    expect(init.env.find((e: Obj) => e.name === 'MEMBERS').value).toBe(String(members));
  });

  it('NetworkPolicies: default deny; only the gateway (and /storage/) from outside; subgraphs from the gateway and their callers', () => {
    const denyAll = of(overlay, 'NetworkPolicy').filter(
      (p) =>
        Object.keys(p.spec.podSelector ?? {}).length === 0 &&
        p.spec.policyTypes.includes('Ingress') &&
        !(p.spec.ingress ?? []).length,
    );
    expect(denyAll).toHaveLength(1);

    const calls = internalCalls();
    // the callers the code has today (a change here must come with the policy's)
    expect(Object.fromEntries([...calls].map(([k, v]) => [k, [...v].sort()]))).toEqual({
      users: ['projects'],
      projects: ['users'],
      tasks: ['projects'],
      files: ['projects', 'tasks'],
      notifications: ['users'],
      analytics: ['projects'],
    });
    const ingressNs = 'ns:ingress-nginx';
    for (const { name, port } of services) {
      const pod = one(overlay, 'Deployment', name).spec.template;
      const app = pod.spec.containers[0];
      const expected = new Set<string>();
      if (name === 'gateway' || name === 'files' || name === 'analytics') expected.add(ingressNs);
      if (name !== 'gateway') expected.add('gateway');
      for (const [caller, callees] of calls) if (callees.has(name)) expected.add(caller);
      expect([name, [...allowedSources(overlay, pod.metadata.labels, app, port)].sort()]).toEqual([name, [...expected].sort()]);
      // the metrics port: Prometheus's namespace only
      expect([name, [...allowedSources(overlay, pod.metadata.labels, app, portNumber(app, 'metrics'))]]).toEqual([
        name,
        ['ns:monitoring'],
      ]);
    }
    // the stores: this stack's pods only
    for (const store of ['mongo', 'redis']) {
      const set = one(overlay, 'StatefulSet', store).spec.template;
      const container = set.spec.containers[0];
      const sources = allowedSources(overlay, set.metadata.labels, container, container.ports[0].containerPort);
      expect([...sources].filter((s) => s.startsWith('ns:') || s === 'ip')).toEqual([]);
      for (const { name } of services) expect(sources.has(name)).toBe(true);
    }

    // the Ingress sends the API host to the gateway and /storage/ to files and analytics, nothing else
    const backends = of(overlay, 'Ingress')
      .flatMap((i) => i.spec.rules.flatMap((r: Obj) => r.http.paths.map((p: Obj) => `${p.path} ${p.backend.service.name}`)))
      .sort();
    expect(backends).toEqual(['/graphql gateway', '/storage/ analytics', '/storage/ files']);
  });

  it('commits no secret: Secrets come from create-secrets.sh, settings from ConfigMaps documented in the README', () => {
    expect(of(overlay, 'Secret')).toEqual([]);
    const script = readFileSync(path.join(K8S, 'create-secrets.sh'), 'utf8');
    // keys it writes: `echo "KEY=…"` lines, and those taken from the environment (`for key in …`, `apply_from_env`)
    const created = new Set([...script.matchAll(/echo "([A-Z][A-Z0-9_]+)=/g)].map((m) => m[1]!));
    for (const m of script.matchAll(/for key in ([A-Z0-9_ ]+); do/g)) for (const k of m[1]!.split(' ')) created.add(k);
    for (const m of script.matchAll(/apply_from_env tm-[a-z]+ ([A-Z0-9_ ]+);/g)) for (const k of m[1]!.split(' ')) created.add(k);
    const refs = of(overlay, 'Deployment').flatMap((d) =>
      d.spec.template.spec.containers.flatMap((c: Obj) =>
        (c.env ?? [])
          .filter((e: Obj) => e.valueFrom?.secretKeyRef)
          .map((e: Obj) => ({ env: e.name, ...e.valueFrom.secretKeyRef })),
      ),
    );
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref.key).toBe(ref.env);
      expect(['tm-secrets', 'tm-admin', 'tm-stores']).toContain(ref.name);
      expect([ref.key, created.has(ref.key)]).toEqual([ref.key, true]);
      // a required one must be made unconditionally
      if (!ref.optional) expect(script).toMatch(new RegExp(`echo "${ref.key}=[^"$]*\\$\\(openssl rand`));
    }

    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('|'))
      .join('\n');
    // a subgraph's URL is documented once, as `<NAME>_URL`
    const subgraphUrl = new RegExp(`^(${services.map((s) => s.name.toUpperCase()).join('|')})_URL$`);
    const undocumented: string[] = [];
    for (const cm of of(overlay, 'ConfigMap').filter((c) => c.metadata.name.startsWith('tm-'))) {
      for (const [key, value] of Object.entries(cm.data as Record<string, string>)) {
        expect([key, /SECRET|PASSWORD|TOKEN|_KEYS?$|ACCESS_KEY/.test(key)]).toEqual([key, false]);
        expect([key, /\/\/[^/@\s]+:[^/@\s]+@/.test(value)]).toEqual([key, false]); // no credentials in URLs
        const documented = readme.includes(`\`${key}\``) || (subgraphUrl.test(key) && readme.includes('`<NAME>_URL`'));
        if (!documented) undocumented.push(key);
      }
    }
    expect(undocumented).toEqual([]);
  });
});

it('the repository holds no Secret manifest or secretGenerator under deploy/k8s', () => {
  for (const file of filesUnder(K8S, '.yaml')) {
    const text = readFileSync(file, 'utf8');
    expect([file, /^kind:\s*Secret\b/m.test(text) || /secretGenerator/.test(text)]).toEqual([file, false]);
  }
});
