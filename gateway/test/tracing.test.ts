import http from 'node:http';
import { Redis } from 'ioredis';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { OPS_SETTINGS_KEY, opsChangedChannel, OpsField } from '@tm/kit/contracts';
import { errorCode, gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { Cleanup } from '@tm/tools/testing/processes';
import { registerUser, signInFirstAdmin, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';

/**
 * Trace sampling end to end: users, projects, notifications and the gateway as real processes
 * exporting over OTLP/HTTP to a collector stand-in in this process; `setTraceSampling` through the
 * real gateway. Also: the stores' and outgoing HTTP client spans, and a stream consumer's span in the
 * trace of the change it reacts to.
 */
interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}
interface OtlpTraces {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: OtlpKeyValue[];
      }>;
    }>;
  }>;
}

const attrs = (list: OtlpKeyValue[] = []) =>
  Object.fromEntries(
    list.map(({ key, value }) => [key, value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue]),
  );

/** Everything the services exported, as flat spans (the JSON encoding of OTLP/HTTP). */
const received: ExportedSpan[] = [];
const bodies: string[] = [];
const collector = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    if (req.method === 'POST' && req.url === '/v1/traces') {
      bodies.push(text);
      const body = JSON.parse(text) as OtlpTraces;
      for (const rs of body.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)['service.name']);
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            received.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              attributes: attrs(s.attributes),
            });
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

const cleanup = new Cleanup();
let stack: Stack;
let url: string;
let admin: string;
let user: TestUser;
let projectId: string;
let redis: Redis;

const ADMIN_EMAIL = 'trace.admin@example.com';
const ADMIN_PASSWORD = 'Trace-admin-pass-42';
/** projects (the project) then users (its owner's name): two subgraph fetches. */
const TRACED = 'query TracedProject($id: ID!) { project(id: $id) { id name owner { id name } } }';
const SAMPLING =
  'mutation SetSampling($s: String!, $r: Float!, $d: Int) { setTraceSampling(service: $s, rate: $r, durationMinutes: $d) { traceSampling { service rate until } } }';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ok = <T>(r: GqlResponse): T => {
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data as T;
};
const query = () => gql(url, TRACED, { id: projectId }, { token: user.token });
/** The spans of the traces in which the gateway or a subgraph ran `TracedProject`. */
const tracedSpans = () => {
  // the gateway names its subgraph operations after the client's (`TracedProject__projects__0`)
  const ids = new Set(
    received.filter((s) => String(s.attributes['graphql.operation.name']).startsWith('TracedProject')).map((s) => s.traceId),
  );
  return received.filter((s) => ids.has(s.traceId));
};
async function until<T>(ms: number, probe: () => T | Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > deadline) return v;
    await sleep(50);
  }
}
/** The span ids above a span, nearest first. */
const ancestors = (span: ExportedSpan, spans: ExportedSpan[]): string[] => {
  const up: string[] = [];
  for (let p = span.parentSpanId; p && !up.includes(p); p = spans.find((s) => s.spanId === p)?.parentSpanId ?? '') up.push(p);
  return up;
};
const everyService = (s: ExportedSpan[]) => ['gateway', 'projects', 'users'].every((svc) => s.some((x) => x.service === svc));
/** Long enough for every service's batch processor (100 ms delay here) to have exported. */
const SETTLE_MS = 700;

beforeAll(async () => {
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => new Promise((r) => collector.close(r)));
  const { port } = collector.address() as { port: number };
  stack = await startStack('tracing', ['users', 'projects', 'notifications'], {
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    NOTIFY_POLL_MS: '50',
  });
  cleanup.add(() => stack.stop());
  url = stack.gateway.url;
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX, lazyConnect: true });
  cleanup.add(() => redis.quit());
  admin = await signInFirstAdmin(stack, ADMIN_EMAIL, ADMIN_PASSWORD);
  user = await registerUser(url, 'Tracy');
  projectId = ok<{ createProject: { id: string } }>(
    await gql(
      url,
      'mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }',
      { i: { name: 'Traced' } },
      { token: user.token },
    ),
  ).createProject.id;
}, 60_000);

afterAll(() => cleanup.run());

describe('trace sampling', () => {
  it('exports nothing at the default rate (0), and a non-admin cannot change it', async () => {
    expect(ok<{ project: { owner: { name: string } } }>(await query()).project.owner.name).toBe('Tracy');
    expect(errorCode(await gql(url, SAMPLING, { s: '*', r: 1, d: 5 }, { token: user.token }))).toBe('PERM-001');
    await sleep(SETTLE_MS);
    expect(received).toEqual([]);
    expect(bodies).toEqual([]);
  });

  it('after setTraceSampling(*, 1) a query yields one trace: the gateway server span and its plan spans, and a server span of each subgraph under its fetch', async () => {
    const set = ok<{ setTraceSampling: { traceSampling: Array<{ service: string; rate: number }> } }>(
      await gql(url, SAMPLING, { s: '*', r: 1, d: 5 }, { token: admin }),
    );
    expect(set.setTraceSampling.traceSampling).toEqual([expect.objectContaining({ service: '*', rate: 1 })]);
    ok(await query());
    // every span asserted below exported (each service's batches end at different times: the
    // gateway's root span ends last, after its plan spans may have gone in an earlier batch)
    const complete = (all: ExportedSpan[]) =>
      everyService(all) &&
      all.some((x) => x.service === 'gateway' && x.parentSpanId === '') &&
      all.some((x) => x.service === 'gateway' && x.name === 'gateway.request') &&
      all.filter((x) => x.service === 'gateway' && x.name === 'gateway.fetch').length >= 2 &&
      ['projects', 'users'].every((svc) => all.some((x) => x.service === svc && x.kind === 2)) &&
      all.filter((x) => x.service === 'gateway' && x.kind === 3).length >= 2;
    const spans = await until(30_000, tracedSpans, complete);

    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    const gateway = spans.filter((s) => s.service === 'gateway');
    // the root: the gateway's server span (a trace context from the client would be ignored)
    const root = gateway.find((s) => s.parentSpanId === '');
    expect(root).toMatchObject({
      name: 'POST /graphql',
      kind: 2, // SERVER
      attributes: { 'graphql.operation.name': 'TracedProject', 'http.response.status_code': 200 },
    });
    // under it the executor's spans (named as @apollo/gateway names them, whichever executor ran the plan)
    const request = gateway.find((s) => s.name === 'gateway.request');
    expect(request).toMatchObject({
      attributes: { 'graphql.operation.name': 'TracedProject', 'graphql.operation.type': 'query' },
    });
    const fetches = gateway.filter((s) => s.name === 'gateway.fetch');
    for (const s of [request!, ...fetches]) expect(ancestors(s, spans)).toContain(root!.spanId);
    expect(fetches.map((f) => f.attributes.service).sort()).toEqual(['projects', 'users']);
    for (const svc of ['projects', 'users']) {
      const server = spans.filter((s) => s.service === svc && s.kind === 2);
      expect(server).toHaveLength(1);
      expect(server[0]).toMatchObject({
        name: 'POST /graphql',
        attributes: { 'http.request.method': 'POST', 'http.response.status_code': 200, 'graphql.operation.type': 'query' },
      });
      // under the fetch: the gateway's HTTP client span (undici), then the subgraph's server span
      const fetch = fetches.find((f) => f.attributes.service === svc)!;
      const client = spans.find((s) => s.spanId === server[0]!.parentSpanId);
      expect(client).toMatchObject({ service: 'gateway', name: 'POST', kind: 3 /* CLIENT */, parentSpanId: fetch.spanId });
    }
    // nothing personal in what was exported: no email, token, variable value or document
    const exported = bodies.join('\n');
    for (const secret of [user.email, user.token, admin, projectId, 'owner { id name }']) expect(exported).not.toContain(secret);
  });

  it('a service-to-service call continues the trace: a permissions cache miss in users is a projects span under the users span', async () => {
    // sampling is on everywhere (the previous test's override); a cold permissions cache makes users ask projects
    await redis.del(`permissions:${user.id}`);
    ok(await gql(url, 'mutation Beat($p: ID!) { heartbeat(projectId: $p) }', { p: projectId }, { token: user.token }));
    const beat = () => {
      const ids = new Set(
        received.filter((s) => String(s.attributes['graphql.operation.name']).startsWith('Beat')).map((s) => s.traceId),
      );
      return received.filter((s) => ids.has(s.traceId));
    };
    const spans = await until(
      5000,
      beat,
      (all) =>
        all.some((s) => s.name === 'GET /internal/permissions') &&
        all.some((s) => s.service === 'users' && s.name === 'POST /graphql'),
    );
    const internal = spans.find((s) => s.name === 'GET /internal/permissions');
    expect(internal).toMatchObject({
      service: 'projects',
      kind: 2,
      attributes: { 'http.route': '/internal/permissions', 'http.response.status_code': 200 },
    });
    const usersServer = spans.find((s) => s.service === 'users' && s.name === 'POST /graphql');
    // through users' HTTP client span (fetch, traced by the undici instrumentation; no query string)
    const call = spans.find((s) => s.spanId === internal!.parentSpanId);
    expect(call).toMatchObject({ service: 'users', name: 'GET', kind: 3, attributes: { 'url.query': '[redacted]' } });
    expect(ancestors(internal!, spans)).toContain(usersServer!.spanId);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    expect(JSON.stringify([internal, call])).not.toContain(user.id); // the query string (a user id) is not recorded
  });

  it("a mutation's trace holds MongoDB, Redis and HTTP client spans, and the stream consumer's handling of its event", async () => {
    // sampling is on everywhere (the override set above); the event reaches notifications through the projects stream
    const name = 'Quarterly roadmap for the trace';
    const created = ok<{ createProject: { id: string } }>(
      await gql(
        url,
        'mutation CreateTraced($i: CreateProjectInput!) { createProject(input: $i) { id } }',
        { i: { name } },
        { token: user.token },
      ),
    ).createProject.id;
    const traceOf = () => {
      const root = received.find(
        (s) => s.service === 'gateway' && s.attributes['graphql.operation.name'] === 'CreateTraced' && !s.parentSpanId,
      );
      return root ? received.filter((s) => s.traceId === root.traceId) : [];
    };
    const consumed = (spans: ExportedSpan[]) =>
      spans.find((s) => s.service === 'notifications' && s.name === 'process events:projects');
    const spans = await until(10_000, traceOf, (all) => {
      const c = consumed(all);
      // each service exports its spans in its own batches: wait for every part asserted below
      return (
        !!c &&
        all.some((s) => s.service === 'notifications' && s.parentSpanId === c.spanId) &&
        all.some((s) => s.service === 'projects' && s.kind === 2) &&
        all.some((s) => s.service === 'projects' && s.name === 'insert projects') &&
        all.some((s) => s.service === 'projects' && s.name === 'xadd')
      );
    });
    const root = spans.find((s) => !s.parentSpanId)!;
    expect(root).toMatchObject({ service: 'gateway', name: 'POST /graphql' });
    const projectsServer = spans.find((s) => s.service === 'projects' && s.kind === 2)!;
    expect(ancestors(projectsServer, spans)).toContain(root.spanId);

    // MongoDB: the driver's commands under the projects server span, the statement as its shape only
    const mongo = spans.filter((s) => s.service === 'projects' && s.attributes['db.system.name'] === 'mongodb');
    expect(mongo.length).toBeGreaterThan(0);
    for (const m of mongo) {
      expect(m).toMatchObject({
        kind: 3,
        attributes: { 'db.namespace': expect.any(String), 'db.query.text': expect.any(String) },
      });
      expect(ancestors(m, spans)).toContain(projectsServer.spanId);
    }
    expect(mongo.map((m) => m.name)).toContain('insert projects');
    // Redis: the event appended to the stream by the outbox relay, in the request
    const xadd = spans.find((s) => s.service === 'projects' && s.attributes['db.system.name'] === 'redis' && s.name === 'xadd');
    expect(xadd).toMatchObject({ kind: 3, attributes: { 'db.query.text': expect.stringMatching(/^xadd \[\d+ args\]$/) } });
    expect(ancestors(xadd!, spans)).toContain(projectsServer.spanId);
    // HTTP: the gateway's call to the subgraph (undici), between its fetch span and the subgraph's server span
    const call = spans.find((s) => s.spanId === projectsServer.parentSpanId);
    expect(call).toMatchObject({
      service: 'gateway',
      name: 'POST',
      kind: 3,
      attributes: { 'http.request.method': 'POST', 'url.full': stack.services.projects!.url, 'http.response.status_code': 200 },
    });
    expect(spans.find((s) => s.spanId === call!.parentSpanId)).toMatchObject({
      name: 'gateway.fetch',
      attributes: { service: 'projects' },
    });

    // the notifications consumer handled ProjectCreated in the same trace, under the projects request that wrote it
    const consumer = consumed(spans)!;
    expect(consumer).toMatchObject({
      kind: 5, // CONSUMER
      traceId: root.traceId,
      attributes: {
        'messaging.destination.name': 'events:projects',
        'messaging.consumer.group.name': 'notifications',
        'tm.event.type': 'ProjectCreated',
      },
    });
    expect(consumer.parentSpanId).toBe(projectsServer.spanId);
    // and its own store work (the new member written) under it
    expect(
      spans
        .filter((s) => s.service === 'notifications' && s.parentSpanId === consumer.spanId)
        .map((s) => s.attributes['db.system.name']),
    ).toContain('mongodb');
    // no value of the change in what was exported (statements are shapes, URLs have no query string)
    const exported = bodies.join('\n');
    for (const secret of [name, created, user.email, user.token]) expect(exported).not.toContain(secret);
  });

  it('traces graphql-ws operations: a query, a subscription start and each live event resolution are traces with the subgraph spans under them', async () => {
    // sampling is on everywhere (the override set above)
    const client = createClient({
      url: url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${user.token}` },
      retryAttempts: 0,
    });
    try {
      const answer = await new Promise<{ data?: { project?: { owner?: { name?: string } } } }>((resolve, reject) => {
        let result: unknown;
        client.subscribe(
          { query: TRACED.replace('TracedProject', 'SocketProject'), variables: { id: projectId } },
          { next: (r) => (result = r), error: reject, complete: () => resolve(result as never) },
        );
      });
      expect(answer.data?.project?.owner?.name).toBe('Tracy');
      const events: unknown[] = [];
      const started = async () =>
        Number(
          /^live_subscriptions_started_total(?:\{[^}]*\})? (\d+)$/m.exec(
            await (await fetch(`${stack.gateway.base}/metrics`)).text(),
          )?.[1],
        );
      const before = await started();
      client.subscribe(
        {
          query: 'subscription LiveRoster($p: ID!) { projectChanged(projectId: $p) { kind project { name owner { name } } } }',
          variables: { p: projectId },
        },
        { next: (r) => void events.push(r), error: () => undefined, complete: () => undefined },
      );
      for (const deadline = Date.now() + 30_000; (await started()) <= before && Date.now() < deadline;) await sleep(50); // live
      ok(
        await gql(
          url,
          'mutation($p: ID!) { updateProject(id: $p, input: { name: "Traced live" }) { id } }',
          { p: projectId },
          { token: user.token },
        ),
      );
      await until(
        5000,
        () => events.length,
        (n) => n > 0,
      );
      expect(events[0]).toEqual({
        data: { projectChanged: { kind: 'UPDATED', project: { name: 'Traced live', owner: { name: 'Tracy' } } } },
      });

      const root = (name: string) => received.find((s) => s.service === 'gateway' && s.name === name && s.parentSpanId === '');
      const traceOf = (span: ExportedSpan | undefined) => received.filter((s) => span && s.traceId === span.traceId);
      const serversUnder = (span: ExportedSpan | undefined) =>
        traceOf(span).filter(
          (s) => s.service !== 'gateway' && s.name === 'POST /graphql' && ancestors(s, traceOf(span)).includes(span!.spanId),
        );
      const complete = () =>
        serversUnder(root('graphql-ws query')).length === 2 &&
        serversUnder(root('live Presence')).length === 1 &&
        // the event's payload reads projects (and users): wait for the projects span, whichever is exported first
        serversUnder(root('live Live_projectChanged')).some((s) => s.service === 'projects') &&
        !!root('graphql-ws subscription');
      await until(5000, complete, (done) => done);

      expect(root('graphql-ws query')).toMatchObject({
        kind: 2, // SERVER
        attributes: { 'graphql.operation.type': 'query', 'graphql.operation.name': 'SocketProject' },
      });
      expect(
        serversUnder(root('graphql-ws query'))
          .map((s) => s.service)
          .sort(),
      ).toEqual(['projects', 'users']);
      // the start of a member's subscription calls no subgraph: its span stands alone
      expect(root('graphql-ws subscription')).toMatchObject({
        kind: 2,
        attributes: { 'graphql.operation.type': 'subscription', 'graphql.operation.name': 'LiveRoster' },
      });
      // the event's resolution: its own trace, the payload's subgraph fetches under it
      expect(root('live Live_projectChanged')).toMatchObject({
        kind: 5 /* CONSUMER */,
        attributes: { 'graphql.operation.type': 'query' },
      });
      expect(serversUnder(root('live Live_projectChanged')).map((s) => s.service)).toContain('projects');
      // the presence the gateway keeps for the subscriber: a trace of its own too
      expect(root('live Presence')).toMatchObject({ kind: 5, attributes: { 'graphql.operation.name': 'Presence' } });
      expect(serversUnder(root('live Presence')).map((s) => s.service)).toEqual(['users']);
      const exported = bodies.join('\n');
      for (const secret of [user.email, user.token, projectId, 'owner { name }']) expect(exported).not.toContain(secret);
    } finally {
      await client.dispose();
    }
  });

  it('falls back to the default rate once the override expires', async () => {
    // durationMinutes is a whole number of minutes: write an override that lapses in 1.5 s, as the ops service stores it
    const expiresAt = Date.now() + 1500;
    await redis.hset(OPS_SETTINGS_KEY, OpsField.sampling('*'), JSON.stringify({ value: 1, until: expiresAt }));
    await redis.publish(opsChangedChannel(stack.env.REDIS_PREFIX!), String(Date.now()));
    const view = () =>
      gql<{ opsSettings: { traceSampling: Array<{ service: string; until: string }> } }>(
        url,
        '{ opsSettings { traceSampling { service until } } }',
        {},
        { token: admin },
      );
    const seen = await until(
      1000,
      view,
      (r) => r.data?.opsSettings.traceSampling[0]?.until === new Date(expiresAt).toISOString(),
    );
    expect(seen.data?.opsSettings.traceSampling).toEqual([{ service: '*', until: new Date(expiresAt).toISOString() }]);

    // still on: sampled everywhere
    received.length = 0;
    ok(await query());
    expect(everyService(await until(1000, tracedSpans, everyService))).toBe(true);

    // lapsed: nothing from any process, without any further change
    await sleep(Math.max(0, expiresAt - Date.now()) + SETTLE_MS);
    received.length = 0;
    ok(await query());
    await sleep(SETTLE_MS);
    expect(received).toEqual([]);
    expect((await view()).data?.opsSettings.traceSampling).toEqual([]);
  });

  it('an override for one subgraph traces that subgraph alone (its own rate decides when the gateway did not sample)', async () => {
    received.length = 0;
    ok(await gql(url, SAMPLING, { s: 'projects', r: 1, d: 5 }, { token: admin }));
    // the projects process picks the change up from Redis pub/sub within moments
    let spans: ExportedSpan[] = [];
    for (let i = 0; i < 20 && spans.length === 0; i++) {
      ok(await query());
      spans = await until(SETTLE_MS, tracedSpans, (s) => s.length > 0);
    }
    await sleep(SETTLE_MS);
    spans = tracedSpans();
    expect(spans.length).toBeGreaterThan(0);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['projects']));
    expect(spans.find((s) => s.kind === 2)).toMatchObject({
      name: 'POST /graphql',
      attributes: { 'graphql.operation.name': expect.stringMatching(/^TracedProject__projects__\d+$/) },
    });
    // each continues the gateway's (unsampled) trace rather than starting its own
    for (const s of spans) expect(s.parentSpanId).not.toBe('');
  });

  it('a stopping process exports the spans still queued (shutdown flushes the exporter)', async () => {
    // a gateway whose batch would wait a minute: only its shutdown can send what it recorded
    const slow = await stack.addGateway({ OTEL_BSP_SCHEDULE_DELAY: '60000' });
    ok(await gql(url, SAMPLING, { s: 'gateway', r: 1, d: 5 }, { token: admin }));
    const seen = await until(
      2000,
      () =>
        gql<{ opsSettings: { traceSampling: Array<{ service: string }> } }>(
          slow.url,
          '{ opsSettings { traceSampling { service } } }',
          {},
          { token: admin },
        ),
      (r) => !!r.data?.opsSettings.traceSampling.some((t) => t.service === 'gateway'),
    );
    expect(seen.data?.opsSettings.traceSampling.map((t) => t.service)).toContain('gateway');
    ok(await gql(slow.url, TRACED.replace('TracedProject', 'FlushedProject'), { id: projectId }, { token: user.token }));
    const flushed = () =>
      received.filter((s) => s.service === 'gateway' && s.attributes['graphql.operation.name'] === 'FlushedProject');
    // the subgraphs (100 ms batches) have sent their part of the trace; the slow gateway nothing yet
    await until(
      2000,
      () => received.filter((s) => String(s.attributes['graphql.operation.name']).startsWith('FlushedProject__')),
      (s) => s.length === 2,
    );
    expect(flushed()).toEqual([]);
    expect(await slow.stop()).toBe(0);
    const request = flushed().find((s) => s.name === 'gateway.request');
    expect(request).toBeDefined();
    const traceId = request!.traceId;
    expect(
      received
        .filter((s) => s.traceId === traceId)
        .map((s) => s.service)
        .sort(),
    ).toEqual(expect.arrayContaining(['gateway', 'projects', 'users']));
  });
});
