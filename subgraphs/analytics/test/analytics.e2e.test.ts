import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { errorCode } from '@tm/tools/testing/graphql';
import { REPO_ROOT, spawnService, type ServiceProcess } from '@tm/tools/testing/processes';
import { registerUser, signInFirstAdmin, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';
import { streamEvents } from '@tm/tools/testing/streams';
import { dropGeneration, generation, readPointer } from '../src/readmodel/readmodel.generation';
import { Projector } from '../src/readmodel/readmodel.projector';
import {
  as as asUser,
  data,
  METRICS,
  parseCsv,
  REPORT,
  REQUEST_REPORT,
  shuffled,
  snapshot,
  waitFor,
  WORKLOAD,
  type Metrics,
} from './helpers';

/**
 * Analytics through the real gateway (users + projects + tasks + analytics), real Redis streams and
 * the embedded store: metrics and workload equal a recomputation from the tasks this test made and
 * changed; permissions; a shuffled duplicated replay and `npm run analytics:rebuild` give the live
 * read model; reports (CSV row by row, JSON, cancel, expiry); dashboards; Prometheus metrics.
 */
const ADMIN_EMAIL = 'analytics.admin@example.com';
const ADMIN_PASSWORD = 'Analytics-admin-42';
const HOUR = 3_600_000;
const REPORT_TTL_SECONDS = 10;

let stack: Stack;
let url: string;
let dir: string;
let redis: Redis;
/** The analytics process started again after the downtime test (stopped in afterAll). */
let restarted: ServiceProcess | undefined;
let owner: TestUser, member: TestUser, outsider: TestUser, admin: TestUser;
let projectId: string;
/** Per task: when the test first moved it to IN_PROGRESS (just before the request). */
const firstInProgress = new Map<string, number>();

const as = (u: TestUser, q: string, v: Record<string, unknown> = {}) => asUser(url, u, q, v);
const TASK_FIELDS = 'id status version';

async function createTask(title: string, assigneeId: string | null, dueDate: Date | null = null, p = projectId): Promise<string> {
  return data<{ createTask: { id: string } }>(
    await as(member, `mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }`, {
      i: { projectId: p, title, assigneeId, dueDate: dueDate?.toISOString() ?? null },
    }),
  ).createTask.id;
}
async function move(id: string, status: string): Promise<void> {
  const before = Date.now();
  data(
    await as(member, `mutation($id: ID!, $s: TaskStatus!) { moveTask(id: $id, status: $s) { ${TASK_FIELDS} } }`, {
      id,
      s: status,
    }),
  );
  if (status === 'IN_PROGRESS' && !firstInProgress.has(id)) firstInProgress.set(id, before);
}
async function reassign(id: string, assigneeId: string | null): Promise<void> {
  data(
    await as(member, `mutation($id: ID!, $a: ID) { updateTask(id: $id, input: { assigneeId: $a }) { ${TASK_FIELDS} } }`, {
      id,
      a: assigneeId,
    }),
  );
}
async function remove(id: string): Promise<void> {
  data(await as(member, 'mutation($id: ID!) { deleteTask(id: $id) }', { id }));
}

interface TaskView {
  id: string;
  title: string;
  status: string;
  assignee: { id: string } | null;
  dueDate: string | null;
  createdAt: string;
  completedAt: string | null;
  priority: string;
}
async function tasksOf(p = projectId): Promise<TaskView[]> {
  const r = data<{ project: { tasks: { edges: Array<{ node: TaskView }> } } }>(
    await as(
      owner,
      'query($p: ID!) { project(id: $p) { tasks(first: 100) { edges { node { id title status priority assignee { id } dueDate createdAt completedAt } } } } }',
      { p },
    ),
  );
  return r.project.tasks.edges.map((e) => e.node);
}

/** The metrics recomputed from the tasks as the tasks subgraph shows them now. */
function recompute(tasks: TaskView[], now: number) {
  const done = tasks.filter((t) => t.status === 'DONE');
  const cycles = done
    .filter((t) => firstInProgress.has(t.id))
    .map((t) => (Date.parse(t.completedAt!) - firstInProgress.get(t.id)!) / HOUR);
  const assignees = [...new Set(tasks.map((t) => t.assignee?.id ?? null))];
  const perDay = new Map<string, number>();
  for (const t of done) perDay.set(t.completedAt!.slice(0, 10), (perDay.get(t.completedAt!.slice(0, 10)) ?? 0) + 1);
  return {
    totalTasks: tasks.length,
    completedTasks: done.length,
    overdueTasks: tasks.filter((t) => t.status !== 'DONE' && t.dueDate && Date.parse(t.dueDate) < now).length,
    averageCycleTimeHours: cycles.length ? cycles.reduce((s, c) => s + c, 0) / cycles.length : null,
    byStatus: ['TODO', 'IN_PROGRESS', 'IN_REVIEW', 'DONE'].map((status) => ({
      status,
      count: tasks.filter((t) => t.status === status).length,
    })),
    byAssignee: assignees
      .map((id) => {
        const mine = tasks.filter((t) => (t.assignee?.id ?? null) === id);
        return {
          assignee: id ? { id } : null,
          count: mine.length,
          open: mine.filter((t) => t.status !== 'DONE').length,
          completed: mine.filter((t) => t.status === 'DONE').length,
        };
      })
      .sort((a, b) => b.count - a.count || String(a.assignee?.id ?? null).localeCompare(String(b.assignee?.id ?? null))),
    perDay,
  };
}

async function metrics(u: TestUser, vars: Record<string, unknown> = {}, p = projectId): Promise<Metrics> {
  return data<{ project: { metrics: Metrics } }>(await as(u, METRICS, { p, ...vars })).project.metrics;
}

/** Waits until the read model shows what a recomputation from the tasks gives (counts), then returns both. */
async function settledMetrics(p = projectId): Promise<{ m: Metrics; want: ReturnType<typeof recompute> }> {
  let m: Metrics | null = null;
  let want: ReturnType<typeof recompute> | null = null;
  await waitFor(
    async () => {
      want = recompute(await tasksOf(p), Date.now());
      m = await metrics(owner, {}, p);
      return (
        JSON.stringify([m.byStatus, m.byAssignee]) === JSON.stringify([want.byStatus, want.byAssignee]) &&
        m.completedTasks === want.completedTasks
      );
    },
    () => `metrics ${JSON.stringify(m)} to match ${JSON.stringify(want)}`,
  );
  return { m: m!, want: want! };
}

async function withAnalyticsDb<T>(fn: () => Promise<T>): Promise<T> {
  await mongoose.connect(stack.env.MONGO_URL!, { dbName: `${stack.env.MONGO_DB}_analytics` });
  try {
    return await fn();
  } finally {
    await mongoose.disconnect();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tm-reports-'));
  stack = await startStack('analytics_e2e', ['users', 'projects', 'tasks', 'analytics'], {
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ANALYTICS_POLL_MS: '100',
    REPORTS_DIR: dir,
    REPORTS_TTL_SECONDS: String(REPORT_TTL_SECONDS),
    REPORTS_SWEEP_MS: '300',
    REPORTS_ROWS_PER_SECOND: '50',
  });
  url = stack.gateway.url;
  [owner, member, outsider] = await Promise.all(['Olga', 'Max', 'Oscar'].map((n) => registerUser(url, n)));
  admin = { id: '', email: ADMIN_EMAIL, name: 'Admin', token: await signInFirstAdmin(stack, ADMIN_EMAIL, ADMIN_PASSWORD) };
  projectId = data<{ createProject: { id: string } }>(
    await as(owner, 'mutation { createProject(input: { name: "Analytics" }) { id } }'),
  ).createProject.id;
  data(
    await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }', {
      p: projectId,
      u: member.id,
    }),
  );
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX });
}, 180_000);

afterAll(async () => {
  redis?.disconnect();
  await restarted?.stop();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Project.metrics and User.workload', () => {
  it('equal a recomputation from the tasks after moves back and forth, reassignments and deletes', async () => {
    const yesterday = new Date(Date.now() - 24 * HOUR);
    const t1 = await createTask('Overdue, untouched', member.id, yesterday);
    const t2 = await createTask('Back and forth', member.id);
    for (const s of ['IN_PROGRESS', 'IN_REVIEW', 'DONE', 'IN_REVIEW', 'IN_PROGRESS', 'IN_REVIEW', 'DONE']) await move(t2, s);
    const t3 = await createTask('Reassigned', owner.id);
    await move(t3, 'IN_PROGRESS');
    await reassign(t3, member.id);
    await move(t3, 'IN_REVIEW');
    await move(t3, 'DONE');
    const t4 = await createTask('Unassigned, back to TODO', null);
    await move(t4, 'IN_PROGRESS');
    await move(t4, 'TODO');
    await move(t4, 'IN_PROGRESS');
    const t5 = await createTask('Done then deleted', member.id);
    for (const s of ['IN_PROGRESS', 'IN_REVIEW', 'DONE']) await move(t5, s);
    await remove(t5);
    const t6 = await createTask('Deleted at once', owner.id, new Date(Date.now() + 24 * HOUR));
    await remove(t6);
    const t7 = await createTask('Overdue in progress', member.id, yesterday);
    await move(t7, 'IN_PROGRESS');
    await reassign(t1, owner.id);
    await reassign(t1, member.id);
    const { m, want } = await settledMetrics();
    expect(want.totalTasks).toBe(5);
    expect(m.totalTasks).toBe(want.totalTasks);
    expect(m.completedTasks).toBe(2);
    expect(m.completionRate).toBeCloseTo(want.completedTasks / want.totalTasks, 10);
    expect(m.overdueTasks).toBe(want.overdueTasks);
    expect(m.overdueTasks).toBe(2);
    expect(m.byStatus).toEqual(want.byStatus);
    expect(m.byAssignee).toEqual(want.byAssignee);
    expect(m.averageCycleTimeHours).not.toBeNull();
    // the event's time is within the request the test timed
    expect(Math.abs(m.averageCycleTimeHours! - want.averageCycleTimeHours!)).toBeLessThan(10_000 / HOUR);
    expect(m.throughput).toHaveLength(30);
    for (const d of m.throughput) expect([d.date, d.count]).toEqual([d.date, want.perDay.get(d.date) ?? 0]);
    expect(m.throughput.reduce((s, d) => s + d.count, 0)).toBe(2);
    expect([t1, t2, t3, t4, t7].every((t) => typeof t === 'string')).toBe(true);

    // a range in the future holds nothing; a range after `to` is refused
    const later = await metrics(member, {
      from: new Date(Date.now() + HOUR).toISOString(),
      to: new Date(Date.now() + 26 * HOUR).toISOString(),
    });
    expect(later).toMatchObject({ totalTasks: 0, completedTasks: 0, completionRate: 0, averageCycleTimeHours: null });
    expect(later.throughput.length).toBeGreaterThanOrEqual(2);
    expect(
      errorCode(
        await as(member, METRICS, {
          p: projectId,
          from: new Date().toISOString(),
          to: new Date(Date.now() - HOUR).toISOString(),
        }),
      ),
    ).toBe('API-002');

    // workload: the member's open, overdue and recently done tasks
    const w = data<{ user: { workload: Record<string, number> } }>(await as(member, WORKLOAD, { u: member.id })).user.workload;
    expect(w).toEqual({ openTasks: 2, overdueTasks: 2, completedLast7Days: 2 });
    const mine = (await tasksOf()).filter((t) => t.assignee?.id === member.id);
    expect(w.openTasks).toBe(mine.filter((t) => t.status !== 'DONE').length);
    const ow = data<{ user: { workload: Record<string, number> } }>(await as(admin, WORKLOAD, { u: owner.id })).user.workload;
    expect(ow).toEqual({ openTasks: 0, overdueTasks: 0, completedLast7Days: 0 });
  });

  it("only members see metrics; a user sees their own workload, an ADMIN anyone's", async () => {
    expect(errorCode(await as(outsider, METRICS, { p: projectId }))).toBe('PERM-002');
    expect(errorCode(await as(outsider, METRICS, { p: randomUUID() }))).toBe('PERM-002');
    expect(errorCode(await as(member, WORKLOAD, { u: owner.id }))).toBe('PERM-001');
    expect(errorCode(await as(outsider, WORKLOAD, { u: member.id }))).toBe('PERM-001');
    const mine = data<{ user: { workload: { openTasks: number } } }>(await as(outsider, WORKLOAD, { u: outsider.id }));
    expect(mine.user.workload.openTasks).toBe(0);
    expect((await metrics(member)).totalTasks).toBeGreaterThan(0);
    expect(
      data<{ user: { workload: { openTasks: number } } }>(await as(admin, WORKLOAD, { u: member.id })).user.workload.openTasks,
    ).toBe(2);
    // removed from the project: their metrics access ends, and the project leaves their workload
    data(
      await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: VIEWER) { id } }', {
        p: projectId,
        u: outsider.id,
      }),
    );
    expect((await metrics(outsider)).totalTasks).toBeGreaterThan(0);
    data(
      await as(owner, 'mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, userId: $u) { id } }', {
        p: projectId,
        u: outsider.id,
      }),
    );
    expect(errorCode(await as(outsider, METRICS, { p: projectId }))).toBe('PERM-002');
  });
});

describe('replays', () => {
  it('the task stream replayed twice over and shuffled gives the live read model', async () => {
    const events = await streamEvents(redis, 'events:tasks');
    expect(events.length).toBeGreaterThan(20);
    await withAnalyticsDb(async () => {
      const live = await snapshot(await generation((await readPointer()).current));
      expect(live.facts.length).toBe(7);
      const g = await generation(77);
      const p = new Projector(g);
      for (const e of shuffled([...events, ...events])) await p.apply(e);
      expect(await snapshot(g)).toEqual(live);
      await dropGeneration(77);
    });
  });

  it('catches up after downtime from the group position', async () => {
    const old = stack.services.analytics!;
    const before = await metrics(owner);
    expect(await old.stop()).toBe(0);
    // meanwhile: metrics are unavailable (SYS-002), tasks go on
    expect(errorCode(await as(owner, METRICS, { p: projectId }))).toBe('SYS-002');
    const t = await createTask('While analytics was down', member.id);
    await move(t, 'IN_PROGRESS');
    const urls = Object.fromEntries(Object.entries(stack.services).map(([n, svc]) => [`${n.toUpperCase()}_URL`, svc.url]));
    restarted = await spawnService(
      'analytics',
      'subgraphs/analytics/dist/main.js',
      { ...stack.env, ...urls, MONGO_DB: `${stack.env.MONGO_DB}_analytics` },
      old.port,
      // its store connected (a subgraph serves at once and answers DB-001 until then: a busy machine)
      { healthPath: '/ready' },
    );
    stack.services.analytics = restarted;
    const { m } = await settledMetrics();
    expect(m.totalTasks).toBe(before.totalTasks + 1);
  }, 120_000);

  it('npm run analytics:rebuild replays into a fresh generation, switches, and equals live; the consumer goes on in it', async () => {
    const before = await metrics(owner);
    const live = await withAnalyticsDb(async () => snapshot(await generation((await readPointer()).current)));
    const env = { ...stack.env, MONGO_DB: `${stack.env.MONGO_DB}_analytics`, ANALYTICS_POLL_MS: '100' };
    const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'analytics:rebuild'], {
      cwd: REPO_ROOT,
      env,
      timeout: 120_000,
    });
    expect(stdout).toMatch(/read model rebuilt: generation 1 -> 2/);
    await withAnalyticsDb(async () => {
      const p = await readPointer();
      expect(p).toMatchObject({ current: 2, building: null, previous: 1 });
      expect(await snapshot(await generation(2))).toEqual(live);
    });
    // the service reads the new generation (within a second) and its consumer writes there
    const counts = ({ to: _to, ...m }: Metrics & { to?: string }) => JSON.stringify(m);
    await waitFor(async () => counts(await metrics(owner)) === counts(before), 'metrics after the switch');
    const t8 = await createTask('After the rebuild', member.id);
    await move(t8, 'IN_PROGRESS');
    const { m } = await settledMetrics();
    expect(m.totalTasks).toBe(before.totalTasks + 1);
  }, 180_000);
});

describe('reports', () => {
  const objects = () => (existsSync(path.join(dir, 'reports')) ? readdirSync(path.join(dir, 'reports')) : []);

  async function finished(u: TestUser, id: string, status = 'COMPLETED') {
    let last: Record<string, unknown> | null = null;
    await waitFor(
      async () => {
        last = data<{ reportJob: Record<string, unknown> }>(await as(u, REPORT, { id })).reportJob;
        return last.status === status;
      },
      () => `report ${id} to be ${status} (last ${JSON.stringify(last)})`,
    );
    return last! as {
      id: string;
      status: string;
      progress: number;
      rowCount: number;
      resultUrl: string | null;
      expiresAt: string;
    };
  }

  it('a CSV report lists every task, checked row by row; JSON too; then it expires and is removed', async () => {
    const job = data<{ requestReport: { id: string; status: string } }>(
      await as(member, REQUEST_REPORT, { i: { projectId, format: 'CSV' } }),
    ).requestReport;
    expect(['QUEUED', 'RUNNING', 'COMPLETED']).toContain(job.status);
    const done = await finished(member, job.id);
    expect(done.progress).toBe(1);
    expect(done.resultUrl).toMatch(/\/storage\/download\?t=/);
    const res = await fetch(done.resultUrl!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = parseCsv(await res.text());
    expect(rows[0]).toEqual([
      'taskId',
      'title',
      'status',
      'priority',
      'assigneeId',
      'createdAt',
      'dueDate',
      'completedAt',
      'cycleTimeHours',
    ]);
    const tasks = await tasksOf();
    expect(rows.length - 1).toBe(tasks.length);
    expect(done.rowCount).toBe(tasks.length);
    const byId = new Map(tasks.map((t) => [t.id, t]));
    for (const row of rows.slice(1)) {
      const [id, title, status, priority, assigneeId, createdAt, dueDate, completedAt, cycle] = row;
      const t = byId.get(id!);
      expect(t).toBeDefined();
      expect({ title, status, priority, assigneeId, dueDate, completedAt }).toEqual({
        title: t!.title,
        status: t!.status,
        priority: t!.priority,
        assigneeId: t!.assignee?.id ?? '',
        dueDate: t!.dueDate ?? '',
        completedAt: t!.completedAt ?? '',
      });
      expect(Math.abs(Date.parse(createdAt!) - Date.parse(t!.createdAt))).toBeLessThan(5000);
      if (t!.status === 'DONE')
        expect(Number(cycle)).toBeCloseTo((Date.parse(t!.completedAt!) - firstInProgress.get(t!.id)!) / HOUR, 2);
      else expect(cycle).toBe('');
      byId.delete(id!);
    }
    expect(byId.size).toBe(0);
    // others cannot see it; a tampered URL is refused
    expect(errorCode(await as(outsider, REPORT, { id: job.id }))).toBe('PERM-002');
    expect((await fetch(done.resultUrl!.replace(/\?t=./, '?t=x'))).status).toBe(403);
    // JSON, throughput
    const j = data<{ requestReport: { id: string } }>(
      await as(owner, REQUEST_REPORT, { i: { projectId, format: 'JSON', kind: 'THROUGHPUT' } }),
    ).requestReport;
    const jd = await finished(owner, j.id);
    const days = (await (await fetch(jd.resultUrl!)).json()) as Array<{ date: string; completed: number }>;
    expect(days).toHaveLength(30);
    expect(days.reduce((s, d) => s + d.completed, 0)).toBe(tasks.filter((t) => t.status === 'DONE').length);
    // expiry: status EXPIRED, files removed, the URL answers 410
    await finished(member, job.id, 'EXPIRED');
    await waitFor(() => !objects().some((o) => o.startsWith(job.id)), 'the expired report file to be removed');
    expect((await fetch(done.resultUrl!)).status).toBe(410);
    expect(
      data<{ reportJob: { resultUrl: string | null } }>(await as(member, REPORT, { id: job.id })).reportJob.resultUrl,
    ).toBeNull();
  });

  it('cancelReportJob (requester or ADMIN) stops a running report promptly and leaves no file', async () => {
    // a big project: 600 tasks' events straight on the stream (as the tasks service writes them)
    const big = data<{ createProject: { id: string } }>(
      await as(owner, 'mutation { createProject(input: { name: "Big" }) { id } }'),
    ).createProject.id;
    const now = new Date().toISOString();
    const pipeline = redis.pipeline();
    for (let n = 0; n < 600; n++) {
      const event = {
        id: randomUUID(),
        type: 'TaskCreated',
        at: now,
        actorId: owner.id,
        correlationId: null,
        payload: {
          taskId: randomUUID(),
          projectId: big,
          version: 1,
          state: {
            title: `Bulk ${n}`,
            status: 'TODO',
            priority: 'LOW',
            assigneeId: null,
            dueDate: null,
            completedAt: null,
            createdAt: null,
          },
        },
      };
      pipeline.xadd('events:tasks', '*', 'type', event.type, 'event', JSON.stringify(event));
    }
    await pipeline.exec();
    await waitFor(async () => (await metrics(owner, {}, big)).totalTasks === 600, 'the bulk tasks in the read model');
    // 50 rows/s: about 12 s to write
    const a = data<{ requestReport: { id: string } }>(await as(owner, REQUEST_REPORT, { i: { projectId: big } })).requestReport;
    await waitFor(
      async () => data<{ reportJob: { rowCount: number } }>(await as(owner, REPORT, { id: a.id })).reportJob.rowCount >= 100,
      'the report to be under way',
    );
    // written through a temp file: the report itself does not exist until the stream ends
    expect(objects().filter((o) => o.startsWith(a.id))).toEqual([
      expect.stringMatching(new RegExp(`^${a.id}\\.csv\\..*\\.part$`)),
    ]);
    expect(errorCode(await as(member, 'mutation($id: ID!) { cancelReportJob(id: $id) { id } }', { id: a.id }))).toBe('PERM-002');
    const cancelledAt = Date.now();
    const c = data<{ cancelReportJob: { status: string } }>(
      await as(owner, 'mutation($id: ID!) { cancelReportJob(id: $id) { id status } }', { id: a.id }),
    ).cancelReportJob;
    expect(c.status).toBe('CANCELLED');
    await waitFor(() => !objects().some((o) => o.startsWith(a.id)), 'the part file to be removed', 10_000);
    expect(Date.now() - cancelledAt).toBeLessThan(5000);
    const after = data<{ reportJob: { status: string; resultUrl: string | null; rowCount: number } }>(
      await as(owner, REPORT, { id: a.id }),
    ).reportJob;
    expect(after).toMatchObject({ status: 'CANCELLED', resultUrl: null });
    expect(after.rowCount).toBeLessThan(600);
    // cancelling again is refused; an ADMIN cancels anyone's
    expect(errorCode(await as(owner, 'mutation($id: ID!) { cancelReportJob(id: $id) { id } }', { id: a.id }))).toBe('API-002');
    const b = data<{ requestReport: { id: string } }>(
      await as(owner, REQUEST_REPORT, { i: { projectId: big, format: 'JSON' } }),
    ).requestReport;
    expect(
      data<{ cancelReportJob: { status: string } }>(
        await as(admin, 'mutation($id: ID!) { cancelReportJob(id: $id) { id status } }', { id: b.id }),
      ).cancelReportJob.status,
    ).toBe('CANCELLED');
    await waitFor(() => !objects().some((o) => o.startsWith(b.id)), 'no file of the cancelled job');
    // at most 3 queued or running per user
    const many: string[] = [];
    for (let n = 0; n < 3; n++)
      many.push(
        data<{ requestReport: { id: string } }>(await as(owner, REQUEST_REPORT, { i: { projectId: big } })).requestReport.id,
      );
    expect(errorCode(await as(owner, REQUEST_REPORT, { i: { projectId: big } }))).toBe('API-001');
    for (const id of many) data(await as(owner, 'mutation($id: ID!) { cancelReportJob(id: $id) { id } }', { id }));
    await waitFor(() => !objects().some((o) => many.some((id) => o.startsWith(id))), 'no file of the cancelled jobs');
    // a report is for members only
    expect(errorCode(await as(outsider, REQUEST_REPORT, { i: { projectId: big } }))).toBe('PERM-002');
  });
});

describe('dashboards', () => {
  const SAVE =
    'mutation($i: DashboardInput!) { saveDashboard(input: $i) { id name widgets { id kind projectId title x y w h } } }';
  const widget = (id: string, x: number, extra: Record<string, unknown> = {}) => ({
    id,
    kind: 'THROUGHPUT',
    projectId,
    x,
    y: 0,
    w: 4,
    h: 3,
    ...extra,
  });

  it("saves validated layouts, lists the caller's, and an ADMIN resets one", async () => {
    const d = data<{ saveDashboard: { id: string; widgets: unknown[] } }>(
      await as(member, SAVE, {
        i: { name: 'Team', widgets: [widget('a', 0), widget('b', 4, { kind: 'WORKLOAD', projectId: null, title: 'Me' })] },
      }),
    ).saveDashboard;
    expect(d.widgets).toHaveLength(2);
    const updated = data<{ saveDashboard: { id: string; name: string; widgets: unknown[] } }>(
      await as(member, SAVE, { i: { id: d.id, name: 'Team 2', widgets: [widget('a', 0), widget('c', 4), widget('d', 8)] } }),
    ).saveDashboard;
    expect(updated).toMatchObject({ id: d.id, name: 'Team 2' });
    const list = data<{ dashboards: Array<{ id: string; name: string }> }>(
      await as(member, '{ dashboards { id name } }'),
    ).dashboards;
    expect(list).toEqual([{ id: d.id, name: 'Team 2' }]);
    expect(data<{ dashboards: unknown[] }>(await as(owner, '{ dashboards { id } }')).dashboards).toEqual([]);
    // refused: overlapping, off the grid, project widget without a project, too big, a project not visible, someone else's
    for (const widgets of [
      [widget('a', 0), widget('b', 2)],
      [widget('a', 10)],
      [widget('a', 0, { projectId: null })],
      [widget('a', 0, { id: 'x y' })],
    ]) {
      expect(errorCode(await as(member, SAVE, { i: { name: 'Bad', widgets } }))).toBe('API-002');
    }
    const huge = Array.from({ length: 40 }, (_, n) => widget(`w${n}`, 0, { y: n * 3, title: 'x'.repeat(100) }));
    const tooBig = await as(member, SAVE, {
      i: { name: 'Huge', widgets: [...huge, ...huge.map((w, n) => ({ ...w, id: `v${n}`, y: 200 + n * 3 }))] },
    });
    expect(errorCode(tooBig)).toBe('API-002');
    expect(errorCode(await as(outsider, SAVE, { i: { name: 'Spy', widgets: [widget('a', 0)] } }))).toBe('PERM-002');
    expect(errorCode(await as(owner, SAVE, { i: { id: d.id, name: 'Mine now', widgets: [] } }))).toBe('PERM-002');
    // resetDashboard: ADMIN only, restores the default layout
    const RESET = 'mutation($id: ID!) { resetDashboard(id: $id) { id name widgets { id kind } } }';
    expect(errorCode(await as(member, RESET, { id: d.id }))).toBe('PERM-001');
    const reset = data<{ resetDashboard: { name: string; widgets: Array<{ kind: string }> } }>(
      await as(admin, RESET, { id: d.id }),
    ).resetDashboard;
    expect(reset).toEqual({ id: d.id, name: 'Team 2', widgets: [{ id: 'workload', kind: 'WORKLOAD' }] });
  });
});

describe('operations', () => {
  it('serves consumer lag per stream and report jobs by state as Prometheus metrics; /ready shows the read model', async () => {
    const base = stack.services.analytics!.base;
    await waitFor(
      async () =>
        /analytics_consumer_lag\{[^}]*stream="events:tasks"[^}]*\} 0\n/.test(await (await fetch(`${base}/metrics`)).text()),
      'lag 0 on events:tasks',
    );
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/analytics_consumer_lag\{[^}]*stream="events:projects"[^}]*\} \d+/);
    expect(text).toMatch(/analytics_report_jobs\{[^}]*state="CANCELLED"[^}]*\} 5\n/);
    expect(text).toMatch(/analytics_report_jobs\{[^}]*state="EXPIRED"[^}]*\} [12]\n/);
    expect(text).toMatch(/analytics_events_total\{[^}]*result="applied"[^}]*\} \d+/);
    const ready = (await (await fetch(`${base}/ready`)).json()) as { status: string; readModel: { generation: number } };
    expect(ready).toMatchObject({ status: 'ready', readModel: { generation: 2 } });
    // the gateway's serviceHealth shows analytics' dependencies and its report queue
    const h = data<{
      serviceHealth: Array<{
        name: string;
        ready: boolean;
        dependencies: Array<{ name: string; status: string }>;
        queues: Array<{ name: string }>;
      }>;
    }>(
      await as(admin, '{ serviceHealth { name ready dependencies { name status } queues { name waiting active delayed } } }'),
    ).serviceHealth.find((s) => s.name === 'analytics');
    expect(h).toMatchObject({ ready: true, queues: [{ name: 'reports', waiting: 0, active: 0, delayed: 0 }] });
    expect(h!.dependencies.map((d) => `${d.name}:${d.status}`).sort()).toEqual(['mongo:up', 'redis:up', 'storage:up']);
  });

  it('a rebuild refuses a trimmed stream (it would miss the oldest events) and keeps the current read model', async () => {
    const first = (await redis.xrange('events:projects', '-', '+', 'COUNT', 1)) as Array<[string, string[]]>;
    await redis.xdel('events:projects', first[0]![0]);
    const env = { ...stack.env, MONGO_DB: `${stack.env.MONGO_DB}_analytics` };
    const r = await promisify(execFile)('npm', ['run', '-s', 'analytics:rebuild'], {
      cwd: REPO_ROOT,
      env,
      timeout: 120_000,
    }).catch((err: { code: number; stderr: string }) => err);
    expect(r).toMatchObject({ code: 1 });
    expect((r as { stderr: string }).stderr).toMatch(/events:projects was trimmed/);
    await withAnalyticsDb(async () => expect(await readPointer()).toMatchObject({ current: 2, building: null }));
  }, 120_000);
});
