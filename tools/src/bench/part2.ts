import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { signContext } from '@tm/kit/infra';
import type { Devstack } from '../devstack';
import { gql } from '../testing/graphql';
import { gatewayFlagsEnv, REPO_ROOT } from '../testing/processes';
import { registerUser, startStack, type Stack, type TestUser } from '../testing/stack';
import { alternate, OURS_CHECKS, sanity, type BenchOptions, type GatewayUnderTest, type Summary } from './part1';
import {
  BENCH_DIST,
  BENCH_METRICS_TOKEN,
  BENCH_RATE_LIMIT_PER_MINUTE,
  childPids,
  median,
  metricSeries,
  metricSum,
  metricsText,
  startProc,
} from './procs';

export const BOARD_QUERY = `query Board($id: ID!, $n: Int) { project(id: $id) { name members { user { name } }
  tasks(first: $n) { edges { node { title status assignee { name } reporter { name } comments(first: 3) { totalCount } } } } } }`;
/** Closed-loop virtual users of the board query (each its own user). */
export const BOARD_VUS = 10;
const SINGLE_QUERY = 'query One($id: ID!) { project(id: $id) { id name description archived createdAt } }';

/** What part 4 gets from the seeded stack. */
export interface SeededStack {
  stack: Stack;
  users: TestUser[];
  projects: string[];
  tasksByProject: Record<string, string[]>;
  owner: TestUser;
  register(n: number): Promise<TestUser[]>;
  call<T>(token: string, query: string, variables: Record<string, unknown>): Promise<T>;
}

export interface Part2Result {
  seed: { users: number; projects: number; tasks: number; comments: number; seconds: number };
  board?: Summary[];
  /** Store commands during the board load, by `subgraph command collection`: per tasks-subgraph request, mean duration, total seconds. */
  boardStore?: Record<string, { count: number; perRequest: number; meanMs: number; totalSec: number }>;
  single?: Summary[];
  gatewayOverDirect?: { rpsRatio: number; p50Ratio: number };
  growth?: Array<{
    first: number;
    /** `steady`: reads only; `after a write`: an updateTask in the project right before each request (caches, if any, are cold). */
    pages: 'steady' | 'after a write';
    returned: number;
    p50: number;
    p99: number;
    msPerTask: number;
    subgraphRequests: number;
    dbRoundTrips: number;
    /** Store time per request (ms, median): the sum of the commands' durations over the subgraphs. */
    dbMs: number;
    perSubgraph: Record<string, { requests: number; db: number; dbMs: number }>;
    /** Mean commands and store ms per request by `subgraph command collection`. */
    commands: Record<string, { count: number; ms: number }>;
  }>;
  roundTripsConstant?: boolean;
  flags: Record<string, Record<string, unknown>>;
}

async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function sessionOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string }).sid;
}

/** Parts 2 and 3 (and the seeded stack for part 4): our full stack, real store and Redis. */
export async function part2and3(
  devstack: Devstack,
  opts: BenchOptions & { part2: boolean; part3: boolean; part4?: (s: SeededStack) => Promise<unknown> },
): Promise<{ part2: Part2Result; part4?: never }> {
  const stack = await startBenchStack(devstack);
  const peers: GatewayUnderTest[] = [];
  try {
    const api = benchApi(stack);
    const seeded = await seedThroughApi(api, opts);
    const result: Part2Result = { seed: seeded.seed, flags: {} };
    const meter = storeMeter(stack);
    if (opts.part2) await runPart2(stack, seeded, meter, peers, opts, result);
    if (opts.part3) await runPart3(api, seeded, meter, opts, result);

    let part4: unknown;
    if (opts.part4) {
      await stopPeers(peers);
      const { users, projects, tasksByProject, owner } = seeded;
      part4 = await opts.part4({ stack, users, projects, tasksByProject, owner, register: api.register, call: api.call });
    }
    return { part2: result, ...(part4 ? { part4: part4 as never } : {}) };
  } finally {
    await stopPeers(peers);
    await stack.stop();
  }
}

async function stopPeers(peers: GatewayUnderTest[]): Promise<void> {
  for (const p of peers) await p.proc?.stop();
  peers.length = 0;
}

/** users, projects and tasks with the gateway, in production mode, every check on (rate limit set high). */
function startBenchStack(devstack: Devstack): Promise<Stack> {
  process.env.MONGO_URL = devstack.mongoUrl;
  process.env.REDIS_URL = devstack.redisUrl;
  return startStack('bench', ['users', 'projects', 'tasks'], {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    LANDING_PAGE: 'off',
    ACCESS_TOKEN_TTL_SECONDS: '3600',
    SUBGRAPH_DEDUP: 'off',
    // checks stay on: the per-user rate limiter runs, with a limit far above what the bench sends
    RATE_LIMIT_PER_MINUTE: BENCH_RATE_LIMIT_PER_MINUTE,
    // the direct-to-subgraph comparison replays one signed header per user for a whole round (warm-up + measure)
    SIGNED_CONTEXT_MAX_AGE_MS: '60000',
    METRICS_TOKEN: BENCH_METRICS_TOKEN,
  });
}

/** GraphQL calls through the stack's gateway, as one user each. */
interface BenchApi {
  call<T>(token: string, query: string, variables: Record<string, unknown>): Promise<T>;
  /** Retries a write that failed with SYS-002 (a timeout or a busy item), up to 3 times. */
  retrying<T>(fn: () => Promise<T>): Promise<T>;
  /** Writes retried so far. */
  retries(): number;
  register(n: number): Promise<TestUser[]>;
}

function benchApi(stack: Stack): BenchApi {
  const url = stack.gateway.url;
  const call = async <T>(token: string, query: string, variables: Record<string, unknown>): Promise<T> => {
    const res = await gql<T>(url, query, variables, { token });
    if (!res.data || res.errors?.length) throw new Error(failureReport(stack, query, res.errors ?? []));
    return res.data;
  };
  let retries = 0;
  const retrying = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (attempt >= 4 || !/SYS-002/.test((err as Error).message)) throw err;
        retries++;
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  };
  const register = (n: number) =>
    pool(
      Array.from({ length: n }, (_, i) => i),
      4,
      (i) => registerUser(url, `Bench User ${i}`),
    );
  return { call, retrying, retries: () => retries, register };
}

/** A failed call's errors with the services' own log lines of that request (by correlation id). */
function failureReport(stack: Stack, query: string, errors: Array<{ extensions?: unknown }>): string {
  const ids = errors
    .map((e) => (e.extensions as { correlationId?: string } | undefined)?.correlationId)
    .filter((x): x is string => !!x);
  const lines = [stack.gateway, ...Object.values(stack.services)].flatMap((s) =>
    s
      .output()
      .split('\n')
      .filter((l) => ids.some((id) => l.includes(id)))
      .map((l) => `${s.name}: ${l.slice(0, 1500)}`),
  );
  return `${query.slice(0, 60)}: ${JSON.stringify(errors)}${lines.length ? `\n${lines.join('\n')}` : ''}`;
}

interface Seeded {
  seed: Part2Result['seed'];
  users: TestUser[];
  owner: TestUser;
  projects: string[];
  tasksByProject: Record<string, string[]>;
}

/** Users, projects (every user a member), tasks and comments, written through the API. */
async function seedThroughApi(api: BenchApi, opts: BenchOptions): Promise<Seeded> {
  const nUsers = opts.quick ? 20 : 50;
  const nProjects = opts.quick ? 2 : 10;
  const nTasks = opts.quick ? 300 : 2000;
  const t0 = Date.now();
  opts.log(`seeding ${nUsers} users, ${nProjects} projects, ${nTasks} tasks with comments through the API`);
  const users = await api.register(nUsers);
  const owner = users[0]!;
  const projects = await seedProjects(api, owner, nProjects);
  await seedMemberships(api, owner, projects, users.slice(1));
  const { tasksByProject, comments } = await seedTasks(api, users, projects, nTasks);
  const seed = { users: nUsers, projects: nProjects, tasks: nTasks, comments, seconds: Math.round((Date.now() - t0) / 1000) };
  opts.log(`seeded in ${seed.seconds} s (${comments} comments, ${api.retries()} writes retried after SYS-002)`);
  return { seed, users, owner, projects, tasksByProject };
}

function seedProjects(api: BenchApi, owner: TestUser, n: number): Promise<string[]> {
  return pool(
    Array.from({ length: n }, (_, i) => i),
    4,
    async (i) =>
      (
        await api.call<{ createProject: { id: string } }>(
          owner.token,
          'mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }',
          { i: { name: `Bench project ${i} ${randomUUID().slice(0, 6)}`, description: 'seeded by the bench' } },
        )
      ).createProject.id,
  );
}

async function seedMemberships(api: BenchApi, owner: TestUser, projects: string[], members: TestUser[]): Promise<void> {
  const memberships = projects.flatMap((p) => members.map((u) => [p, u.id] as const));
  // a refused add (busy project, SYS-002) wrote nothing: retried like the other writes
  await pool(memberships, 8, ([projectId, userId]) =>
    api.retrying(() =>
      api.call(owner.token, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }', {
        p: projectId,
        u: userId,
      }),
    ),
  );
}

/** Task i goes to project i mod n, with i mod 4 comments; every fifth task unassigned. */
async function seedTasks(api: BenchApi, users: TestUser[], projects: string[], nTasks: number) {
  const tasksByProject: Record<string, string[]> = Object.fromEntries(projects.map((p) => [p, []]));
  let comments = 0;
  await pool(
    Array.from({ length: nTasks }, (_, i) => i),
    8,
    async (i) => {
      const projectId = projects[i % projects.length]!;
      const taskId = await seedTask(api, users, projectId, i);
      tasksByProject[projectId]!.push(taskId);
      comments += await seedComments(api, users, taskId, i);
    },
  );
  return { tasksByProject, comments };
}

async function seedTask(api: BenchApi, users: TestUser[], projectId: string, i: number): Promise<string> {
  const reporter = users[i % users.length]!;
  const assignee = users[(i * 7 + 3) % users.length]!;
  // client ids, so a write that timed out is retried safely (as a real client does)
  const taskId = randomUUID();
  await api.retrying(() =>
    api.call(reporter.token, 'mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }', {
      i: {
        id: taskId,
        projectId,
        title: `Task ${i}`,
        description: `Seeded task number ${i}`,
        assigneeId: i % 5 === 0 ? null : assignee.id,
      },
    }),
  );
  return taskId;
}

async function seedComments(api: BenchApi, users: TestUser[], taskId: string, i: number): Promise<number> {
  let comments = 0;
  for (let c = 0; c < i % 4; c++) {
    const commentId = randomUUID();
    await api.retrying(() =>
      api.call(
        users[(i + c + 1) % users.length]!.token,
        'mutation($t: ID!, $b: String!, $id: ID) { addComment(taskId: $t, body: $b, id: $id) { id } }',
        {
          t: taskId,
          b: `Comment ${c} on task ${i}`,
          id: commentId,
        },
      ),
    );
    comments++;
  }
  return comments;
}

const DURATION = 'mongodb_command_duration_seconds';

interface ServiceCounters {
  requests: number;
  db: number;
  sums: Record<string, number>;
  counts: Record<string, number>;
}
type Counters = Record<string, ServiceCounters>;
type StoreTime = Record<string, { count: number; ms: number }>;

/** Store and request counters of every subgraph, read from their /metrics. */
interface StoreMeter {
  services: Array<[string, Stack['services'][string]]>;
  counters(): Promise<Counters>;
  /** Commands and their store time between two readings, by `subgraph command collection`. */
  storeTime(before: Counters, after: Counters): StoreTime;
}

function storeMeter(stack: Stack): StoreMeter {
  const services = Object.entries(stack.services);
  const counters = async (): Promise<Counters> =>
    Object.fromEntries(
      await Promise.all(
        services.map(async ([name, s]) => {
          // one scrape per service and reading: a scrape's own store commands (its gauges count the
          // outbox backlog and ping the store) then fall into a window the same way every time
          const text = await metricsText(s.base);
          const counters: ServiceCounters = {
            requests: metricSum(text, 'http_requests_total', 'route="/graphql"'),
            db: metricSum(text, 'mongodb_commands_total'),
            sums: metricSeries(text, `${DURATION}_sum`),
            counts: metricSeries(text, `${DURATION}_count`),
          };
          return [name, counters] as const;
        }),
      ),
    );
  const storeTime = (before: Counters, after: Counters) => {
    const out: StoreTime = {};
    for (const [n] of services) {
      for (const [labels, sum] of Object.entries(after[n]!.sums)) {
        const count = (after[n]!.counts[labels] ?? 0) - (before[n]!.counts[labels] ?? 0);
        if (count > 0) out[commandKey(n, labels)] = { count, ms: (sum - (before[n]!.sums[labels] ?? 0)) * 1000 };
      }
    }
    return out;
  };
  return { services, counters, storeTime };
}

function commandKey(service: string, labels: string): string {
  const label = (n: string) => /"([^"]*)"/.exec(labels.slice(labels.indexOf(`${n}=`)))?.[1] ?? '';
  return `${service} ${label('command')} ${label('collection')}`.trim();
}

/** Part 2: the board query, ours vs the peers on the same subgraphs; then gateway ÷ direct-to-subgraph. */
async function runPart2(
  stack: Stack,
  seeded: Seeded,
  meter: StoreMeter,
  peers: GatewayUnderTest[],
  opts: BenchOptions,
  result: Part2Result,
): Promise<void> {
  const ours: GatewayUnderTest = {
    name: 'ours',
    proc: stack.gateway,
    flags: { engine: '@apollo/gateway', fetcher: 'undici keep-alive Agent', dedup: 'off', checks: OURS_CHECKS },
  };
  const gateways = [ours, ...(await startPeers(stack, peers))];
  const headers = seeded.users.map((u) => ({ authorization: `Bearer ${u.token}` }));
  const watch = watcher(stack);
  await boardLoad(gateways, seeded, headers, meter, watch, opts, result);
  result.flags = Object.fromEntries(
    gateways.map((g) => [g.name, { ...g.flags, ...(g.unavailable ? { unavailable: g.unavailable } : {}) }]),
  );
  await singleVsDirect(stack, ours, seeded, headers, watch, opts, result);
}

/** The pids whose CPU a load run reports: the gateway under test, the subgraphs and the store. */
function watcher(stack: Stack) {
  const store = childPids();
  return (g: GatewayUnderTest) => ({
    gateway: g.proc?.child.pid,
    users: stack.services.users!.child.pid,
    projects: stack.services.projects!.child.pid,
    tasks: stack.services.tasks!.child.pid,
    ...store,
  });
}

/**
 * The peer gateways (Hive, and Hive with the Rust planner when it runs here) on a copy of the
 * supergraph pointing at the running subgraphs; each started one is added to `peers`.
 */
async function startPeers(stack: Stack, peers: GatewayUnderTest[]): Promise<GatewayUnderTest[]> {
  const peerEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    REDIS_URL: stack.env.REDIS_URL,
    REDIS_PREFIX: stack.env.REDIS_PREFIX,
    INTERNAL_SECRET: stack.env.INTERNAL_SECRET,
    JWKS_URL: `${stack.services.users!.base}/.well-known/jwks.json`,
    SUPERGRAPH_PATH: writeStackSupergraph(stack),
    // the same node flags as our gateway (fair: it helps any Node gateway)
    ...gatewayFlagsEnv(),
  };
  const hive: GatewayUnderTest = {
    name: 'hive',
    flags: {
      engine: '@graphql-hive/gateway runtime (defaults)',
      auth: 'same JWT + Redis revocation check, signed context per subgraph fetch',
    },
  };
  hive.proc = await startProc('hive', path.join(BENCH_DIST, 'peer-gateway.js'), [], peerEnv);
  peers.push(hive);
  const rust: GatewayUnderTest = { name: 'hive+rust-planner', flags: { ...hive.flags, planner: 'Rust (router-runtime)' } };
  try {
    rust.proc = await startProc('hive+rust-planner', path.join(BENCH_DIST, 'peer-gateway.js'), [], {
      ...peerEnv,
      HIVE_ROUTER_RUNTIME: '1',
    });
    peers.push(rust);
  } catch (err) {
    rust.unavailable = `not available here: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`;
  }
  return [hive, rust];
}

/** The committed supergraph with each join__graph pointing at the running service; returns its path. */
function writeStackSupergraph(stack: Stack): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tm-bench-sg-'));
  const sdl = readFileSync(path.join(REPO_ROOT, 'schema/supergraph.graphql'), 'utf8').replace(
    /@join__graph\(name: "(\w+)", url: "[^"]+"\)/g,
    (_m, name: string) => `@join__graph(name: "${name}", url: "${stack.services[name]?.url ?? 'http://127.0.0.1:9/graphql'}")`,
  );
  const sgPath = path.join(dir, 'supergraph.graphql');
  writeFileSync(sgPath, sdl);
  return sgPath;
}

/** The board query on every gateway (closed loop, one user per VU), and where the store's time went. */
async function boardLoad(
  gateways: GatewayUnderTest[],
  { users, projects }: Seeded,
  headers: Array<Record<string, string>>,
  meter: StoreMeter,
  watch: ReturnType<typeof watcher>,
  opts: BenchOptions,
  result: Part2Result,
): Promise<void> {
  const bodies = users.map((_, i) =>
    JSON.stringify({ query: BOARD_QUERY, variables: { id: projects[i % projects.length], n: 100 }, operationName: 'Board' }),
  );
  await sanity(
    gateways,
    bodies[0]!,
    headers[0]!,
    (b) => ((b as { data?: { project?: { tasks?: { edges?: unknown[] } } } }).data?.project?.tasks?.edges?.length ?? 0) === 100,
    opts.log,
  );
  const boardVus = BOARD_VUS;
  opts.log(`part 2: board query (closed loop, ${boardVus} VUs, one user each)`);
  const beforeBoard = await meter.counters();
  result.board = await alternate(
    gateways,
    { ...opts, connections: boardVus },
    (g) => ({ url: g.proc!.url, bodies, headers, check: 'board', expectEdges: 100 }),
    watch,
  );
  // where the store's time went during the board load (all gateways, warm-up included)
  const afterBoard = await meter.counters();
  const boardRequests = afterBoard.tasks!.requests - beforeBoard.tasks!.requests;
  result.boardStore = perRequestStoreTime(meter.storeTime(beforeBoard, afterBoard), boardRequests);
  opts.log(
    `  store time during the board load (${boardRequests} tasks subgraph requests): ${
      Object.entries(result.boardStore)
        .map(([k, v]) => `${k} ×${v.perRequest}/req ${v.meanMs} ms mean, ${v.totalSec} s`)
        .join('; ') || 'none'
    }`,
  );
}

/** Store commands by `subgraph command collection`, slowest first, per tasks-subgraph request. */
function perRequestStoreTime(time: StoreTime, requests: number): NonNullable<Part2Result['boardStore']> {
  return Object.fromEntries(
    Object.entries(time)
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(([k, v]) => [
        k,
        {
          count: v.count,
          perRequest: Math.round((v.count / Math.max(1, requests)) * 1000) / 1000,
          meanMs: round1(v.ms / v.count),
          totalSec: round1(v.ms / 1000),
        },
      ]),
  );
}

/** A single-subgraph query (projects) through our gateway vs sent to the subgraph directly. */
async function singleVsDirect(
  stack: Stack,
  ours: GatewayUnderTest,
  { users, projects }: Seeded,
  headers: Array<Record<string, string>>,
  watch: ReturnType<typeof watcher>,
  opts: BenchOptions,
  result: Part2Result,
): Promise<void> {
  opts.log('part 2: gateway ÷ direct-to-subgraph, single-subgraph query (projects)');
  const direct: GatewayUnderTest = { name: 'direct:projects', proc: stack.services.projects!, flags: {} };
  const singleBodies = users.map((_, i) =>
    JSON.stringify({ query: SINGLE_QUERY, variables: { id: projects[i % projects.length] }, operationName: 'One' }),
  );
  result.single = await alternate(
    [ours, direct],
    opts,
    (g) =>
      g === direct
        ? { url: g.proc!.url, bodies: singleBodies, headers: directHeaders(stack, users, singleBodies), check: 'nonempty' }
        : { url: g.proc!.url, bodies: singleBodies, headers, check: 'nonempty' },
    watch,
  );
  const [gw, dr] = result.single;
  result.gatewayOverDirect = { rpsRatio: gw!.rps / dr!.rps, p50Ratio: gw!.p50 / dr!.p50 };
}

/** Signed for projects and each user's own body (as the gateway signs each fetch). */
function directHeaders(stack: Stack, users: TestUser[], bodies: string[]): Array<Record<string, string>> {
  return users.map((u, i) => ({
    'x-tm-context': signContext(
      {
        userId: u.id,
        roles: ['USER'],
        sessionId: sessionOf(u.token),
        correlationId: randomUUID(),
        clientIp: '127.0.0.1',
      },
      stack.env.INTERNAL_SECRET!,
      { service: 'projects', body: bodies[i]! },
    ),
  }));
}

type GrowthRow = NonNullable<Part2Result['growth']>[number];
type RequestDelta = Record<string, { requests: number; db: number; dbMs: number }>;

/** Part 3: cost growth in the page size, with steady pages and right after a write. */
async function runPart3(
  api: BenchApi,
  seeded: Seeded,
  meter: StoreMeter,
  opts: BenchOptions,
  result: Part2Result,
): Promise<void> {
  opts.log('part 3: cost growth, tasks(first: 10 / 100 / 1000)');
  result.growth = [];
  const reps = opts.quick ? 10 : 30;
  const { users, projects, owner, tasksByProject } = seeded;
  const readers = Array.from({ length: reps }, (_, i) => users[1 + (i % (users.length - 1))]!);
  const someTask = tasksByProject[projects[0]!]![0]!;
  const touch = () =>
    api.call(owner.token, 'mutation($id: ID!) { updateTask(id: $id, input: { title: "Task touched by the bench" }) { id } }', {
      id: someTask,
    });
  for (const pages of ['steady', 'after a write'] as const) {
    for (const first of [10, 100, 1000]) {
      const body = { id: projects[0], n: first };
      // warm every reader (plan cache, their permission cache, which expires after a few minutes):
      // a cold cache costs the same whatever the page size, and is not what this series measures
      for (const u of new Set(readers)) await api.call(u.token, BOARD_QUERY, body);
      const row = await growthRow(api, meter, readers, body, pages, pages === 'after a write' ? touch : undefined);
      result.growth.push(row);
      logGrowthRow(row, opts);
    }
  }
  result.roundTripsConstant = roundTripsConstant(result.growth);
}

/**
 * One row of part 3: `readers.length` board requests of one page size. Counters are read around
 * each request and the median per request taken, so background work (outbox relays, sweeps) that
 * also talks to the store does not blur the count.
 */
async function growthRow(
  api: BenchApi,
  meter: StoreMeter,
  readers: TestUser[],
  body: { id: string | undefined; n: number },
  pages: GrowthRow['pages'],
  before?: () => Promise<unknown>,
): Promise<GrowthRow> {
  const reps = readers.length;
  const times: number[] = [];
  const deltas: RequestDelta[] = [];
  const commands: StoreTime = {};
  let returned = 0;
  for (let i = 0; i < reps; i++) {
    if (before) await before();
    const m = await measuredBoard(api, meter, readers[i]!, body);
    times.push(m.ms);
    for (const [k, v] of Object.entries(m.store))
      commands[k] = { count: (commands[k]?.count ?? 0) + v.count / reps, ms: (commands[k]?.ms ?? 0) + v.ms / reps };
    deltas.push(m.delta);
    returned = m.returned;
  }
  return summarizeGrowth(meter, body.n, pages, returned, times, deltas, commands);
}

/** One board request with the subgraphs' request, command and store-time counts it caused. */
async function measuredBoard(api: BenchApi, meter: StoreMeter, reader: TestUser, body: Record<string, unknown>) {
  const before = await meter.counters();
  const t = performance.now();
  const data = await api.call<{ project: { tasks: { edges: unknown[] } } }>(reader.token, BOARD_QUERY, body);
  const ms = performance.now() - t;
  const after = await meter.counters();
  const delta: RequestDelta = {};
  for (const [n] of meter.services)
    delta[n] = { requests: after[n]!.requests - before[n]!.requests, db: after[n]!.db - before[n]!.db, dbMs: 0 };
  const store = meter.storeTime(before, after);
  for (const [k, v] of Object.entries(store)) delta[k.split(' ')[0]!]!.dbMs += v.ms;
  return { ms, delta, store, returned: data.project.tasks.edges.length };
}

/** Medians per subgraph and over the subgraphs, p50/p99 and mean store commands of one row. */
function summarizeGrowth(
  meter: StoreMeter,
  first: number,
  pages: GrowthRow['pages'],
  returned: number,
  times: number[],
  deltas: RequestDelta[],
  commands: StoreTime,
): GrowthRow {
  const perSubgraph = Object.fromEntries(
    meter.services.map(([n]) => [
      n,
      {
        requests: median(deltas.map((d) => d[n]!.requests)),
        db: median(deltas.map((d) => d[n]!.db)),
        dbMs: round1(median(deltas.map((d) => d[n]!.dbMs))),
      },
    ]),
  );
  const sorted = [...times].sort((a, b) => a - b);
  const p50 = median(times);
  return {
    first,
    pages,
    returned,
    p50: round1(p50),
    p99: round1(sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!),
    msPerTask: Math.round((p50 / Math.max(1, returned)) * 1000) / 1000,
    subgraphRequests: Object.values(perSubgraph).reduce((n, x) => n + x.requests, 0),
    dbRoundTrips: Object.values(perSubgraph).reduce((n, x) => n + x.db, 0),
    dbMs: round1(median(deltas.map((d) => Object.values(d).reduce((n, x) => n + x.dbMs, 0)))),
    perSubgraph,
    commands: Object.fromEntries(Object.entries(commands).map(([k, v]) => [k, { count: round1(v.count), ms: round1(v.ms) }])),
  };
}

function logGrowthRow(row: GrowthRow, opts: BenchOptions): void {
  opts.log(
    `  first ${row.first}, pages ${row.pages}: ${row.returned} tasks, p50 ${row.p50} ms, ${row.subgraphRequests} subgraph requests, ${row.dbRoundTrips.toFixed(1)} db round trips (${row.dbMs} ms in the store) per request`,
  );
  const slowest = Object.entries(row.commands).sort((a, b) => b[1].ms - a[1].ms);
  opts.log(`    store time per request: ${slowest.map(([k, v]) => `${k} ${v.ms} ms (×${v.count})`).join(', ') || 'none'}`);
}

/** Whether the store round trips stay constant in the page size within each series. */
function roundTripsConstant(growth: GrowthRow[]): boolean {
  return (['steady', 'after a write'] as const).every((pages) => {
    const trips = growth.filter((g) => g.pages === pages).map((g) => g.dbRoundTrips);
    return Math.max(...trips) - Math.min(...trips) < 0.5;
  });
}
