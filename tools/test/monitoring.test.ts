import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { parser as PromqlParser } from '@prometheus-io/lezer-promql' with { 'resolution-mode': 'import' };
import { allSubgraphs, registerUser, startStack, type Stack } from '@tm/tools/testing/stack';
import { gql } from '@tm/tools/testing/graphql';
import { REPO_ROOT } from '@tm/tools/testing/processes';
import { waitFor } from '@tm/tools/testing/wait';
import { parse } from 'yaml';

// the package's typings are ESM-only, while Jest runs this file as CommonJS: its CommonJS build is loaded
const { parser } = require('@prometheus-io/lezer-promql') as { parser: typeof PromqlParser };

/**
 * The monitoring artefacts against the code: the Grafana boards (ops/grafana/dashboards) and the
 * alert rules (ops/prometheus/alerts.yml) use only metrics some service of a running stack exports,
 * promtool accepts the rules, the scrape config and every panel's query, and the metrics the boards
 * were made for move under traffic.
 */

const OPS = path.join(REPO_ROOT, 'ops');
const DASHBOARDS = path.join(OPS, 'grafana/dashboards');
const ALERTS = path.join(OPS, 'prometheus/alerts.yml');
/** Series Prometheus makes itself (per target, per rule), not exported by any service. */
const PROMETHEUS_OWN = new Set([
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_series_added',
  'ALERTS',
  'ALERTS_FOR_STATE',
]);

interface Panel {
  title: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: Array<{ name: string; query?: { query?: string } | string }> };
}
interface Expr {
  where: string;
  expr: string;
}

function dashboards(): Dashboard[] {
  return readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(DASHBOARDS, f), 'utf8')) as Dashboard);
}

/** Every PromQL expression of every panel (rows' panels too). */
function panelExprs(): Expr[] {
  const out: Expr[] = [];
  const walk = (board: Dashboard, panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `${board.title} / ${p.title}`, expr: t.expr });
      walk(board, p.panels ?? []);
    }
  };
  for (const b of dashboards()) walk(b, b.panels);
  return out;
}

function ruleExprs(): Expr[] {
  const file = parse(readFileSync(ALERTS, 'utf8')) as {
    groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }>;
  };
  return file.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: String(r.expr) })));
}

/** Grafana's `$var` / `${var}` inside label values are plain text to PromQL; variables elsewhere would not parse. */
function metricNames(expr: string): { names: string[]; errors: string[] } {
  const tree = parser.parse(expr);
  const names: string[] = [];
  const errors: string[] = [];
  const c = tree.cursor();
  do {
    if (c.type.isError)
      errors.push(`syntax error at ${c.from}: ${JSON.stringify(expr.slice(Math.max(0, c.from - 10), c.from + 10))}`);
    // the metric name of a selector (`name{…}`); `{__name__="…"}` selectors are not used here
    if (c.name === 'Identifier' && c.node.parent?.name === 'VectorSelector') names.push(expr.slice(c.from, c.to));
    if (c.name === 'LabelName' && expr.slice(c.from, c.to) === '__name__')
      errors.push('a {__name__=…} selector: name the metric instead');
  } while (c.next());
  return { names, errors };
}

/** Families of one exposition: name → type, from the `# TYPE` lines. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Samples of one exposition: `name{labels} value` (prom-client's format: no timestamps). */
function samples(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The exported family a used name belongs to (histogram and summary series carry suffixes). */
function familyOf(name: string, exported: Map<string, string>): string | undefined {
  if (exported.has(name)) return name;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m && ['histogram', 'summary'].includes(exported.get(m[1]!) ?? '')) return m[1];
  return undefined;
}

describe('monitoring artefacts, statically', () => {
  let promtool: string;

  beforeAll(() => {
    // builds it on first use when install-services.sh has not (minutes, once)
    promtool = execFileSync('bash', [path.join(REPO_ROOT, 'tools/promtool.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  }, 1_800_000);

  it("has the operations guide's five boards, each with panels and unique ids", () => {
    const boards = dashboards();
    expect(boards.map((b) => b.title).sort()).toEqual([
      'Database Performance',
      'Error Tracking',
      'Service Performance',
      'System Overview',
      'User Activity',
    ]);
    expect(new Set(boards.map((b) => b.uid)).size).toBe(boards.length);
    for (const b of boards) expect({ board: b.title, panels: b.panels.length > 0 }).toEqual({ board: b.title, panels: true });
  });

  it('every panel query and rule parses as PromQL and names its metrics', () => {
    for (const { where, expr } of [...panelExprs(), ...ruleExprs()]) {
      const { names, errors } = metricNames(expr);
      expect({ where, errors }).toEqual({ where, errors: [] });
      expect({ where, names: names.length > 0 }).toEqual({ where, names: true });
    }
  });

  it("has rules for the guide's alarms: error rate, latency, queue backlog, auth failures, Redis and MongoDB down, consumer lag", () => {
    const names = ruleExprs().map((r) => r.where);
    for (const alert of [
      'HighErrorRate',
      'HighLatency',
      'QueueBacklog',
      'AuthFailureSpike',
      'RedisDown',
      'MongoDBDown',
      'ConsumerLag',
    ])
      expect(names).toContain(`rule ${alert}`);
  });

  it('`promtool check rules` accepts the alert rules, and `promtool check config` the scrape config', () => {
    const rules = spawnSync(promtool, ['check', 'rules', ALERTS], { encoding: 'utf8' });
    expect({ status: rules.status, out: rules.stdout + rules.stderr }).toEqual({
      status: 0,
      out: expect.stringContaining('SUCCESS'),
    });
    const config = spawnSync(promtool, ['check', 'config', path.join(OPS, 'prometheus/prometheus.yml')], { encoding: 'utf8' });
    expect({ status: config.status, out: config.stdout + config.stderr }).toEqual({
      status: 0,
      out: expect.stringContaining('SUCCESS'),
    });
  });

  it("`promtool check rules` accepts every panel's query (each as a recording rule)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tm-dashboards-'));
    try {
      const rules = panelExprs().map((e, i) => `      - record: dashboard_query_${i}\n        expr: ${JSON.stringify(e.expr)}`);
      const file = path.join(dir, 'panels.yml');
      writeFileSync(file, `groups:\n  - name: panels\n    rules:\n${rules.join('\n')}\n`);
      const r = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
      expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('promtool refuses a broken rule (the check can fail)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tm-rules-'));
    try {
      const file = path.join(dir, 'bad.yml');
      writeFileSync(
        file,
        'groups:\n  - name: bad\n    rules:\n      - alert: Broken\n        expr: sum by (service (rate(http_requests_total[5m]))\n',
      );
      expect(spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' }).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('monitoring artefacts against a running stack', () => {
  let stack: Stack;
  const scrape = async (base: string) => (await fetch(`${base}/metrics`)).text();
  const scrapeAll = async () =>
    Object.fromEntries(
      await Promise.all(
        [stack.gateway, ...Object.values(stack.services)].map(async (s) => [s.name, await scrape(s.base)] as const),
      ),
    );
  /** Sum of the samples of a name whose labels include these. */
  const total = (text: string, name: string, labels: Record<string, string> = {}) =>
    samples(text)
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  const has = (text: string, name: string, labels: Record<string, string> = {}) =>
    samples(text).some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

  let before: Record<string, string>;
  let after: Record<string, string>;

  beforeAll(async () => {
    stack = await startStack('monitoring', allSubgraphs());
    before = await scrapeAll();
    // a little traffic: a registration, a failed sign-in, a project with tasks, a query twice
    const url = stack.gateway.url;
    const user = await registerUser(url, 'Monitor');
    await gql(url, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
      i: { email: user.email, password: 'wrong-password-1' },
    });
    const project = await gql<{ createProject: { id: string } }>(
      url,
      'mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }',
      { i: { name: 'Monitored' } },
      { token: user.token },
    );
    const projectId = project.data!.createProject.id;
    for (const title of ['one', 'two'])
      expect(
        (
          await gql(
            url,
            'mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }',
            { i: { projectId, title } },
            { token: user.token },
          )
        ).errors,
      ).toBeUndefined();
    const board = 'query Board($id: ID!) { project(id: $id) { name tasks(first: 10) { edges { node { title } } } } }';
    for (let i = 0; i < 2; i++) expect((await gql(url, board, { id: projectId }, { token: user.token })).errors).toBeUndefined();
    // the stream consumers' groups exist (made when each consumer starts): their lag gauges are reported
    for (const service of ['analytics', 'notifications', 'files'])
      await waitFor(
        async () => has(await scrape(stack.services[service]!.base), 'stream_consumer_lag'),
        `${service} stream_consumer_lag`,
      );
    after = await scrapeAll();
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('every metric a board panel or an alert rule uses is exported by some service', () => {
    const exported = new Map<string, string>();
    for (const text of Object.values(after)) for (const [name, type] of families(text)) exported.set(name, type);
    const missing: string[] = [];
    for (const { where, expr } of [...panelExprs(), ...ruleExprs()])
      for (const name of metricNames(expr).names)
        if (!PROMETHEUS_OWN.has(name) && !familyOf(name, exported)) missing.push(`${where}: ${name}`);
    expect(missing).toEqual([]);
  });

  it('the check itself finds a name no service exports', () => {
    const exported = families(after.gateway!);
    expect(familyOf('http_request_duration_seconds_bucket', exported)).toBe('http_request_duration_seconds');
    expect(familyOf('http_requests_total_bucket', exported)).toBeUndefined();
    expect(familyOf('no_such_metric_total', exported)).toBeUndefined();
  });

  it('GraphQL operation latency moves, with bounded labels (operation name, type, outcome)', () => {
    const gw = (t: string) =>
      total(t, 'graphql_operation_duration_seconds_count', { operation: 'Board', type: 'query', outcome: 'ok' });
    expect(gw(after.gateway!) - gw(before.gateway!)).toBe(2);
    expect(total(after.tasks!, 'graphql_operation_duration_seconds_count', { type: 'mutation' })).toBeGreaterThanOrEqual(2);
    const labels = new Set(
      samples(after.gateway!)
        .filter((s) => s.name === 'graphql_operation_duration_seconds_count')
        .flatMap((s) => Object.keys(s.labels)),
    );
    expect([...labels].sort()).toEqual(['operation', 'outcome', 'service', 'type']);
  });

  it('subgraph fetch latency per subgraph moves at the gateway', () => {
    for (const subgraph of ['users', 'projects', 'tasks'])
      expect({
        subgraph,
        n: total(after.gateway!, 'gateway_subgraph_fetch_duration_seconds_count', { subgraph, outcome: 'ok' }) > 0,
      }).toEqual({ subgraph, n: true });
  });

  it('cache hits and misses move: the permissions cache (tasks) and the query plan cache (gateway)', () => {
    const perm = (r: string) => total(after.tasks!, 'cache_requests_total', { cache: 'permissions', result: r });
    expect(perm('hit') + perm('miss')).toBeGreaterThanOrEqual(3);
    const plan = (t: string, r: string) => total(t, 'cache_requests_total', { cache: 'query_plan', result: r });
    expect(plan(after.gateway!, 'hit') - plan(before.gateway!, 'hit')).toBeGreaterThanOrEqual(1);
    expect(plan(after.gateway!, 'miss') - plan(before.gateway!, 'miss')).toBeGreaterThanOrEqual(1);
  });

  it('stores up, outbox backlog, consumer lag and queue depths are reported by the services that have them', () => {
    for (const [name, text] of Object.entries(after)) {
      expect({ name, redis: total(text, 'dependency_up', { dependency: 'redis' }) }).toEqual({ name, redis: 1 });
      if (name !== 'gateway')
        expect({ name, mongo: total(text, 'dependency_up', { dependency: 'mongo' }) }).toEqual({ name, mongo: 1 });
    }
    expect(has(after.tasks!, 'outbox_pending_documents', { collection: 'tasks' })).toBe(true);
    expect(has(after.projects!, 'outbox_pending_documents', { collection: 'projects' })).toBe(true);
    for (const service of ['analytics', 'notifications', 'files'])
      expect({ service, lag: has(after[service]!, 'stream_consumer_lag') }).toEqual({ service, lag: true });
    expect(has(after.files!, 'queue_jobs', { queue: 'files-scan', state: 'waiting' })).toBe(true);
    expect(has(after.notifications!, 'queue_jobs', { queue: 'email', state: 'waiting' })).toBe(true);
    expect(has(after.analytics!, 'queue_jobs', { queue: 'analytics-reports', state: 'waiting' })).toBe(true);
  });

  it('sign-in failures and registrations move (the auth-failure alert reads them)', () => {
    const d = (name: string, labels: Record<string, string>) =>
      total(after.users!, name, labels) - total(before.users!, name, labels);
    expect(d('auth_login_attempts_total', { outcome: 'failed' })).toBe(1);
    expect(d('auth_registrations_total', {})).toBeGreaterThanOrEqual(1);
  });
});
