import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { freePort } from '@tm/tools/net';
import { testEnv } from '@tm/tools/testing/env';
import { gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { spawnService, type ServiceProcess } from '@tm/tools/testing/processes';
import { RoundRobinProxy } from '@tm/tools/testing/proxy';
import { registerUser, type TestUser } from '@tm/tools/testing/stack';
import { waitFor } from '@tm/tools/testing/wait';

/**
 * Horizontal scaling: two gateway processes and two tasks processes, each pair behind a TCP
 * round-robin proxy, under a steady load of mutations and queries through the gateway proxy with
 * live-board clients (graphql-ws, retrying) subscribed to `taskChanged`. Gateway 0 is SIGKILLed and
 * restarted, gateway 1 SIGTERMed and restarted, then the same for tasks. Checked: every failed
 * request was in flight when a process went down (and per kill no more failed than the proxy saw
 * connections cut), a graceful stop fails nothing, every accepted change reached every subscriber
 * live or in its refetch after re-subscribing, no live event was lost while a subscription was up,
 * and every subscription came back through the other gateway.
 */

const WRITERS = 3;
const SUBSCRIBERS = 4;
const PERIOD_MS = 250; // each writer: one request per 250 ms (12 requests/s in all)
const BOARD = 'subscription($p: ID!) { taskChanged(projectId: $p) { kind taskId task { id version } } }';
const REFETCH = 'query($p: ID!) { project(id: $p) { tasks(first: 100) { edges { node { id version } } } } }';

interface RequestRecord {
  what: string;
  start: number;
  end: number;
  ok: boolean;
  error?: string;
  /** The local port of the client's socket when the request failed on it (to find the connection in the proxy's log). */
  localPort?: number;
}

interface Accepted {
  taskId: string;
  version: number;
  at: number;
}

interface Subscriber {
  name: string;
  client: Client;
  /** Highest version of each task seen, live or by refetch. */
  known: Map<string, number>;
  /** Live events: task id and when they arrived. */
  events: Array<{ taskId: string; at: number; resolved: boolean }>;
  connects: number[];
  closes: number[];
  /** When the first live event after each (re)connect arrived: the subscription was up (a refetch follows). */
  proofs: number[];
  refetches: number;
  awaitingProof: boolean;
  needsRefetch: boolean;
  refetching: boolean;
  errors: unknown[];
  /** Connection events with times, for the message of a failed wait. */
  log: string[];
  /** Connected now (acknowledged). */
  up: boolean;
  /** Connection attempts that ended before their acknowledgement. */
  failedAttempts: number;
}

type Role = 'gateway' | 'tasks';

let env: NodeJS.ProcessEnv;
const processes: ServiceProcess[] = [];
let gateways: ServiceProcess[];
let tasks: ServiceProcess[];
let gatewayProxy: RoundRobinProxy;
let tasksProxy: RoundRobinProxy;
let gatewayEnv: NodeJS.ProcessEnv;
let tasksEnv: NodeJS.ProcessEnv;
let url: string;
let owner: TestUser;
let writers: TestUser[];
let projectId: string;
const subscribers: Subscriber[] = [];
const requests: RequestRecord[] = [];
const accepted: Accepted[] = [];
interface Kill {
  role: Role;
  /** Which process of the pair (its backend index in the proxy). */
  index: number;
  signal: NodeJS.Signals;
  at: number;
  exitedAt: number;
  exitCode: number | null;
  /** Connections the proxy saw cut from the killed process's side: with a request awaiting its answer, idle. */
  cut: { pending: number; idle: number };
}
const kills: Kill[] = [];
const restarts: number[] = [];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A request through the gateway proxy, recorded with its timing and outcome. */
async function request<T>(what: string, user: TestUser, query: string, variables: Record<string, unknown>): Promise<T | null> {
  const rec: RequestRecord = { what, start: Date.now(), end: 0, ok: false };
  requests.push(rec);
  let res: GqlResponse<T> | undefined;
  try {
    res = await gql<T>(url, query, variables, { token: user.token });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; socket?: { localPort?: number } } }).cause;
    rec.error = String(cause?.code ?? err);
    rec.localPort = cause?.socket?.localPort;
  }
  rec.end = Date.now();
  if (res && !res.errors && res.data) {
    rec.ok = true;
    return res.data;
  }
  rec.error ??= res ? `HTTP ${res.status} ${JSON.stringify(res.errors ?? null).slice(0, 300)}` : 'no response';
  return null;
}

function see(sub: Subscriber, taskId: string, version: number): void {
  if ((sub.known.get(taskId) ?? 0) < version) sub.known.set(taskId, version);
}

/** What a board client does after (re)subscribing: read the whole board once the subscription is live. */
async function refetch(sub: Subscriber, user: TestUser): Promise<void> {
  const res = await request<{ project: { tasks: { edges: Array<{ node: { id: string; version: number } }> } } }>(
    `refetch ${sub.name}`,
    user,
    REFETCH,
    { p: projectId },
  );
  sub.refetching = false;
  if (!res) return; // still needed: tried again on the next event
  sub.needsRefetch = false;
  sub.refetches++;
  for (const e of res.project.tasks.edges) see(sub, e.node.id, e.node.version);
}

function subscribe(name: string, user: TestUser): Subscriber {
  const sub: Subscriber = {
    name,
    client: undefined as unknown as Client,
    known: new Map(),
    events: [],
    connects: [],
    closes: [],
    proofs: [],
    refetches: 0,
    awaitingProof: false,
    needsRefetch: false,
    refetching: false,
    errors: [],
    log: [],
    up: false,
    failedAttempts: 0,
  };
  sub.client = createClient({
    url: url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${user.token}` },
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    // a board client backs off 200 ms, 400 ms, … (at most 2 s) with a little jitter
    retryWait: (n) => sleep(Math.min(200 * 2 ** n, 2000) + Math.random() * 100),
    on: {
      connected: () => {
        sub.up = true;
        sub.connects.push(Date.now());
        sub.log.push(`${Date.now() % 100000} connected`);
        sub.awaitingProof = true;
      },
      closed: (e) => {
        // a connection that was up went down; an attempt that never got its ack only counts as failed
        if (sub.up) sub.closes.push(Date.now());
        else sub.failedAttempts++;
        sub.up = false;
        sub.log.push(`${Date.now() % 100000} closed ${(e as { code?: number }).code}`);
      },
      connecting: () => void sub.log.push(`${Date.now() % 100000} connecting`),
      opened: () => void sub.log.push(`${Date.now() % 100000} opened`),
      error: (e) => void sub.log.push(`${Date.now() % 100000} error ${String(e)}`),
    },
    onNonLazyError: (e) => void sub.errors.push(e),
  });
  sub.client.subscribe(
    { query: BOARD, variables: { p: projectId } },
    {
      next: (r) => {
        const ev = (r.data as { taskChanged?: { taskId: string; task: { id: string; version: number } | null } } | null)
          ?.taskChanged;
        if (!ev) return void sub.errors.push(r.errors);
        sub.events.push({ taskId: ev.taskId, at: Date.now(), resolved: !!ev.task });
        if (ev.task) see(sub, ev.task.id, ev.task.version);
        if (sub.awaitingProof) {
          sub.awaitingProof = false;
          sub.proofs.push(Date.now());
          sub.needsRefetch = true;
        }
        if (sub.needsRefetch && !sub.refetching) {
          sub.refetching = true;
          void refetch(sub, user);
        }
      },
      error: (e) => void sub.errors.push(e),
      complete: () => void sub.errors.push('completed'),
    },
  );
  subscribers.push(sub);
  return sub;
}

/** One writer: a request every PERIOD_MS, mostly task updates and reads, a new task now and then. */
async function writer(user: TestUser, stop: { now: boolean }): Promise<void> {
  const mine: string[] = [];
  for (let i = 0; !stop.now; i++) {
    const started = Date.now();
    if (mine.length === 0 || i % 10 === 0) {
      const r = await request<{ createTask: { id: string; version: number } }>(
        'createTask',
        user,
        'mutation($p: ID!, $t: String!) { createTask(input: { projectId: $p, title: $t }) { id version } }',
        { p: projectId, t: `${user.name} ${i}` },
      );
      if (r) {
        mine.push(r.createTask.id);
        accepted.push({ taskId: r.createTask.id, version: r.createTask.version, at: Date.now() });
      }
    } else if (i % 2 === 1) {
      const id = mine[i % mine.length]!;
      const r = await request<{ updateTask: { id: string; version: number } }>(
        'updateTask',
        user,
        'mutation($id: ID!, $t: String!) { updateTask(id: $id, input: { title: $t }) { id version } }',
        { id, t: `${user.name} ${i}` },
      );
      if (r) accepted.push({ taskId: r.updateTask.id, version: r.updateTask.version, at: Date.now() });
    } else {
      await request('task', user, 'query($id: ID!) { task(id: $id) { id title version } }', { id: mine[i % mine.length]! });
    }
    await sleep(Math.max(0, started + PERIOD_MS - Date.now()));
  }
}

/** Kills process `index` of a pair, lets the load run on the survivor, and starts it again on the same port. */
async function killAndRestart(role: Role, index: number, signal: NodeJS.Signals): Promise<ServiceProcess> {
  const list = role === 'gateway' ? gateways : tasks;
  const old = list[index]!;
  const backend = (role === 'gateway' ? gatewayProxy : tasksProxy).backends[index]!;
  const cutBefore = { ...backend.cut };
  const exited = new Promise<number>((resolve) => old.child.once('exit', () => resolve(Date.now())));
  const at = Date.now();
  old.child.kill(signal);
  const exitedAt = await exited;
  const kill: Kill = { role, index, signal, at, exitedAt, exitCode: old.child.exitCode, cut: { pending: 0, idle: 0 } };
  kills.push(kill);
  const acceptedBefore = accepted.length;
  // the load goes on against the survivor for a while before the process comes back
  await waitFor(() => accepted.length >= acceptedBefore + 8, 'changes accepted with one process down', 30_000);
  const fresh = await spawnService(
    role,
    `${role === 'gateway' ? 'gateway' : 'subgraphs/tasks'}/dist/main.js`,
    role === 'gateway' ? gatewayEnv : tasksEnv,
    old.port,
  );
  restarts.push(Date.now());
  kill.cut = { pending: backend.cut.pending - cutBefore.pending, idle: backend.cut.idle - cutBefore.idle };
  processes.push(fresh);
  list[index] = fresh;
  return fresh;
}

beforeAll(async () => {
  env = testEnv('horizontal');
  const [usersPort, projectsPort, tasksA, tasksB, gatewayA, gatewayB] = await Promise.all(
    [0, 1, 2, 3, 4, 5].map(() => freePort()),
  );
  tasksProxy = new RoundRobinProxy([tasksA!, tasksB!]);
  const tasksUrl = `http://127.0.0.1:${await tasksProxy.listen(await freePort())}/graphql`;
  const urls = {
    USERS_URL: `http://127.0.0.1:${usersPort}/graphql`,
    PROJECTS_URL: `http://127.0.0.1:${projectsPort}/graphql`,
    TASKS_URL: tasksUrl,
  };
  const sub = (name: string) => ({ ...env, MONGO_DB: `${env.MONGO_DB}_${name}`, ...urls });
  // a change committed by a killed tasks process leaves its event in the document: the surviving or
  // restarted process sends it on its next sweep; swept every 2 s here (production: OUTBOX_IDLE_SWEEP_MS,
  // 30 s), so that recovery falls inside this test's wait also on a busy machine
  // warnings kept (a slow shutdown step names itself): the output of a process that exits is printed
  tasksEnv = { ...sub('tasks'), OUTBOX_SWEEP_MS: '500', OUTBOX_IDLE_SWEEP_MS: '2000', LOG_LEVEL: 'warn' };
  processes.push(await spawnService('users', 'subgraphs/users/dist/main.js', sub('users'), usersPort));
  processes.push(await spawnService('projects', 'subgraphs/projects/dist/main.js', sub('projects'), projectsPort));
  tasks = [];
  for (const port of [tasksA!, tasksB!]) {
    const p = await spawnService('tasks', 'subgraphs/tasks/dist/main.js', tasksEnv, port);
    processes.push(p);
    tasks.push(p);
  }
  gatewayEnv = { ...env, ...urls, JWKS_URL: `http://127.0.0.1:${usersPort}/.well-known/jwks.json`, LOG_LEVEL: 'warn' };
  gateways = [];
  for (const port of [gatewayA!, gatewayB!]) {
    const g = await spawnService('gateway', 'gateway/dist/main.js', gatewayEnv, port);
    processes.push(g);
    gateways.push(g);
  }
  gatewayProxy = new RoundRobinProxy([gatewayA!, gatewayB!]);
  url = `http://127.0.0.1:${await gatewayProxy.listen(await freePort())}/graphql`;

  owner = await registerUser(url, 'Owner');
  writers = [];
  for (let i = 0; i < WRITERS; i++) writers.push(await registerUser(url, `Writer${i}`));
  const created = await gql<{ createProject: { id: string } }>(
    url,
    'mutation { createProject(input: { name: "Scale" }) { id } }',
    {},
    { token: owner.token },
  );
  projectId = created.data!.createProject.id;
  for (const w of writers) {
    const r = await gql(
      url,
      'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }',
      { p: projectId, u: w.id },
      { token: owner.token },
    );
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  }
}, 120_000);

afterAll(async () => {
  for (const s of subscribers) await s.client.dispose();
  await gatewayProxy?.close();
  await tasksProxy?.close();
  for (const p of processes.reverse()) await p.stop();
});

it('keeps serving and delivering while each process of both pairs is killed (SIGKILL, then SIGTERM) and restarted', async () => {
  // subscribers one after another with nothing else connecting: round robin spreads them over both gateways
  const users = [owner, ...writers];
  const before = gatewayProxy.backends.map((b) => b.connections);
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const s = subscribe(`sub${i}`, users[i % users.length]!);
    await waitFor(() => s.connects.length === 1, `${s.name} connected`, 30_000);
  }
  expect(gatewayProxy.backends.map((b, i) => b.connections - before[i]!)).toEqual([SUBSCRIBERS / 2, SUBSCRIBERS / 2]);

  const stop = { now: false };
  const started = Date.now();
  const load = Promise.all(writers.map((w) => writer(w, stop)));
  try {
    // every subscription proved live (an event arrived, then the refetch) before anything is killed
    await waitFor(() => subscribers.every((s) => s.proofs.length === 1 && s.refetches === 1), 'every subscription live', 30_000);

    // a rolling sequence: crash one of a pair and bring it back, then stop the other gracefully, so
    // the second phase runs on the restarted process alone
    const subscriptionsBack = () =>
      waitFor(
        () => subscribers.every((s) => s.proofs.length === s.connects.length && s.connects.length === s.closes.length + 1),
        () =>
          `every subscription re-established after ${kills.map((k) => `${k.role} ${k.signal}`).join(', ')}: ` +
          subscribers
            .map(
              (s) =>
                `${s.name} connects ${s.connects.length} closes ${s.closes.length} proofs ${s.proofs.length} errors ${s.errors.length} log ${s.log.join(',')}`,
            )
            .join('; '),
        30_000,
      );
    for (const [role, index, signal] of [
      ['gateway', 0, 'SIGKILL'],
      ['gateway', 1, 'SIGTERM'],
      ['tasks', 0, 'SIGKILL'],
      ['tasks', 1, 'SIGTERM'],
    ] as const) {
      await killAndRestart(role, index, signal);
      if (role === 'gateway') await subscriptionsBack();
      const mark = accepted.length;
      await waitFor(() => accepted.length >= mark + 8, `changes accepted after the ${role} restart`, 30_000);
    }
  } finally {
    stop.now = true;
    await load;
  }
  const loadMs = Date.now() - started;

  // every accepted change reaches every subscriber (live, or in the refetch after its re-subscription)
  const missing = () =>
    subscribers.flatMap((s) =>
      accepted.filter((a) => (s.known.get(a.taskId) ?? 0) < a.version).map((a) => `${s.name}: ${a.taskId} v${a.version}`),
    );
  await waitFor(
    () => missing().length === 0,
    () => `every accepted change seen by every subscriber; missing ${missing().slice(0, 10).join(', ')}`,
    30_000,
  );

  // no live event lost while a subscription was up: from its last proof on, each subscriber got at
  // least one event per change accepted after that moment (more is fine: delivery is at-least-once)
  const shortfalls = () =>
    subscribers.flatMap((s) => {
      const since = s.proofs[s.proofs.length - 1]!;
      const expected = new Map<string, number>();
      for (const a of accepted) if (a.at > since) expected.set(a.taskId, (expected.get(a.taskId) ?? 0) + 1);
      const got = new Map<string, number>();
      for (const e of s.events) if (e.at > since) got.set(e.taskId, (got.get(e.taskId) ?? 0) + 1);
      return [...expected]
        .filter(([id, n]) => (got.get(id) ?? 0) < n)
        .map(
          ([id, n]) =>
            `${s.name} ${id}: ${got.get(id) ?? 0} of ${n} since ${since - started} ms; accepted at ${accepted
              .filter((a) => a.taskId === id)
              .map((a) => `v${a.version}@${a.at - started}`)
              .join(' ')}; events at ${s.events
              .filter((e) => e.taskId === id)
              .map((e) => e.at - started)
              .join(
                ' ',
              )}; errors ${JSON.stringify(s.errors).slice(0, 500)}; kills ${kills.map((k) => `${k.role}@${k.at - started}`).join(' ')}`,
        );
    });
  await waitFor(() => shortfalls().length === 0, 'a live event per change since each subscription came up', 20_000).catch(
    () => undefined,
  );
  expect(shortfalls()).toEqual([]);

  const failed = requests.filter((r) => !r.ok);
  /** The gateway proxy's record of the connection a failed request was on (by the client socket's port). */
  const connectionOf = (r: RequestRecord) =>
    r.localPort === undefined
      ? undefined
      : gatewayProxy.log.filter((c) => c.clientPort === r.localPort && c.openedAt <= r.end).pop();
  // A failure is the kill's when the request was in flight while the process went down, or when it
  // failed on a client connection to that gateway, open before the kill, that the proxy saw ended from
  // the gateway's side: a keep-alive connection the client still held as idle when the process died
  // (its end reaches the proxy a few ms after the exit, and a request written in that gap fails)
  const inFlightAt = (k: Kill, r: RequestRecord) => {
    if (r.start <= k.exitedAt && r.end >= k.at) return true;
    const conn = k.role === 'gateway' ? connectionOf(r) : undefined;
    return (
      conn !== undefined &&
      conn.backend === k.index &&
      conn.endedBy === 'backend' &&
      conn.openedAt <= k.at &&
      conn.endedAt! >= k.at
    );
  };
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const cut = (p: RoundRobinProxy, k: 'pending' | 'idle' | 'upgraded') => sum(p.backends.map((b) => b.cut[k]));
  // from each close to the next connection_ack, and to the first live event after it
  const reconnectMs = subscribers.flatMap((s) => s.closes.map((c, i) => s.connects[i + 1]! - c));
  const liveAgainMs = subscribers.flatMap((s) => s.closes.map((c, i) => s.proofs[i + 1]! - c));
  const figures = {
    loadSeconds: Math.round(loadMs / 100) / 10,
    requestsSent: requests.length,
    requestsFailed: failed.length,
    failedDetail: failed.map((r) => {
      const conn = connectionOf(r);
      const on = conn
        ? `, on a connection to gateway ${conn.backend} ended by the ${conn.endedBy} at ${conn.endedAt! - started} ms`
        : '';
      return `${r.what}: ${r.error} (${r.start - started}–${r.end - started} ms${on})`;
    }),
    killTimes: kills.map((k) => `${k.role} ${k.at - started}–${k.exitedAt - started}`),
    restartTimes: restarts.map((t) => t - started),
    cutWithRequestPending: { gateway: cut(gatewayProxy, 'pending'), tasks: cut(tasksProxy, 'pending') },
    cutIdle: { gateway: cut(gatewayProxy, 'idle'), tasks: cut(tasksProxy, 'idle') },
    websocketsCut: cut(gatewayProxy, 'upgraded'),
    changesAccepted: accepted.length,
    eventsExpected: accepted.length * SUBSCRIBERS,
    eventsDelivered: sum(subscribers.map((s) => s.events.length)),
    eventsUnresolved: sum(subscribers.map((s) => s.events.filter((e) => !e.resolved).length)),
    refetches: sum(subscribers.map((s) => s.refetches)),
    reconnects: reconnectMs.length,
    reconnectAttemptsFailed: sum(subscribers.map((s) => s.failedAttempts)),
    reconnectMs: { max: Math.max(...reconnectMs), all: reconnectMs },
    liveAgainMs: { max: Math.max(...liveAgainMs), all: liveAgainMs },
    kills: kills.map((k) => ({
      what: `${k.role} ${k.signal}`,
      exitedAfterMs: k.exitedAt - k.at,
      exitCode: k.exitCode,
      failed: failed.filter((r) => inFlightAt(k, r)).length,
      cut: k.cut,
    })),
    connectionsPerBackend: {
      gateway: gatewayProxy.backends.map((b) => b.connections),
      tasks: tasksProxy.backends.map((b) => b.connections),
    },
    connectionsRetried: { gateway: gatewayProxy.retried, tasks: tasksProxy.retried },
    connectionsRefused: { gateway: gatewayProxy.refused, tasks: tasksProxy.refused },
  };
  console.log(`horizontal figures: ${JSON.stringify(figures, null, 2)}`);

  // failures: each one in flight when a process went down, and per process no more than the
  // connections to it the proxy saw cut (with a request pending, or idle: a request can be on its
  // way to a connection the moment it closes)
  expect(failed.filter((r) => !kills.some((k) => inFlightAt(k, r)))).toEqual([]);
  for (const k of kills)
    expect({
      kill: `${k.role} ${k.signal}`,
      failed: failed.filter((r) => inFlightAt(k, r)).length <= k.cut.pending + k.cut.idle,
    }).toEqual({ kill: `${k.role} ${k.signal}`, failed: true });
  // a graceful stop exits on its own (code 0), well before the shutdown timeout, and fails nothing
  for (const k of kills.filter((k) => k.signal === 'SIGTERM')) {
    const failedThen = failed.filter((r) => inFlightAt(k, r)).map((r) => r.what);
    expect({ kill: k.role, exitCode: k.exitCode, failedThen }).toEqual({ kill: k.role, exitCode: 0, failedThen: [] });
    expect(k.exitedAt - k.at).toBeLessThan(5000);
  }
  expect(gatewayProxy.refused + tasksProxy.refused).toBe(0);

  // every subscription is up at the end and none ended with an error; the graceful stop of the second
  // gateway came after every subscriber had moved to it, so each one reconnected at least once
  for (const s of subscribers) {
    expect(s.errors).toEqual([]);
    expect(s.connects.length).toBe(s.closes.length + 1);
    expect(s.closes.length).toBeGreaterThanOrEqual(1);
  }
  expect(reconnectMs.length).toBe(SUBSCRIBERS + SUBSCRIBERS / 2);
}, 180_000); // 55 s on a quiet machine; every step inside has its own bound
