import { randomBytes, randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import type { DomainEvent } from '@tm/kit/infra';
import { MetricsService } from '../src/metrics/metrics.service';
import { dropGeneration, generation, type CurrentGeneration, type Generation } from '../src/readmodel/readmodel.generation';
import { Projector, recountAllBuckets } from '../src/readmodel/readmodel.projector';
import { shuffled, snapshot } from './helpers';

/**
 * The read model against the real embedded store (no services): every aggregation operator the
 * metrics use, idempotency and order independence (a shuffled, duplicated replay gives the same
 * facts and buckets), tombstones, and metrics equal to a recomputation from the tasks' histories.
 */
const DAY = 86_400_000;
const base = Date.parse('2026-11-20T09:00:00.000Z');
const projectId = randomUUID();
const alice = randomUUID();
const bob = randomUUID();

interface State {
  status: string;
  assigneeId: string | null;
  dueDate: string | null;
  completedAt: string | null;
  createdAt: string | null;
}

/** Histories: per task, its events in the order the tasks service made them. */
const events: DomainEvent[] = [];
const finals = new Map<string, { state: State; firstInProgressAt: number | null; createdAt: number; deleted: boolean }>();

function change(
  taskId: string,
  version: number,
  at: number,
  s: Partial<State>,
  type = version === 1 ? 'TaskCreated' : 'TaskMoved',
): void {
  const prev = finals.get(taskId);
  const state: State = {
    status: 'TODO',
    assigneeId: null,
    dueDate: null,
    completedAt: null,
    createdAt: version === 1 ? null : new Date(prev!.createdAt).toISOString(),
    ...prev?.state,
    ...s,
  };
  if (version > 1) state.createdAt = new Date(prev!.createdAt).toISOString();
  if (s.status && s.status !== 'DONE') state.completedAt = null;
  if (s.status === 'DONE') state.completedAt = new Date(at).toISOString();
  events.push({
    id: randomUUID(),
    type,
    at: new Date(at).toISOString(),
    actorId: alice,
    correlationId: null,
    payload: {
      taskId,
      projectId,
      version,
      state: { title: `t ${taskId.slice(0, 4)}`, priority: 'MEDIUM', labels: [], position: 1, version, ...state },
    },
  });
  const first = prev?.firstInProgressAt ?? null;
  finals.set(taskId, {
    state,
    createdAt: prev?.createdAt ?? at,
    firstInProgressAt: state.status === 'IN_PROGRESS' && (first === null || at < first) ? at : first,
    deleted: false,
  });
}

function remove(taskId: string, at: number): void {
  events.push({
    id: randomUUID(),
    type: 'TaskDeleted',
    at: new Date(at).toISOString(),
    actorId: alice,
    correlationId: null,
    payload: { taskId, projectId, version: 0 },
  });
  finals.get(taskId)!.deleted = true;
}

function buildHistories(): void {
  const due = (d: number) => new Date(base + d * DAY).toISOString();
  // a: straight through, moved back from DONE and done again on a later day
  const a = randomUUID();
  change(a, 1, base, { assigneeId: alice, dueDate: due(3) });
  change(a, 2, base + 1 * 3600_000, { status: 'IN_PROGRESS' });
  change(a, 3, base + 5 * 3600_000, { status: 'IN_REVIEW' });
  change(a, 4, base + 1 * DAY, { status: 'DONE' });
  change(a, 5, base + 1 * DAY + 60_000, { status: 'IN_REVIEW' });
  change(a, 6, base + 1 * DAY + 120_000, { status: 'IN_PROGRESS' });
  change(a, 7, base + 2 * DAY, { status: 'IN_REVIEW' });
  change(a, 8, base + 3 * DAY, { status: 'DONE' });
  // b: reassigned twice, overdue and open
  const b = randomUUID();
  change(b, 1, base + 1000, { assigneeId: alice, dueDate: due(-1) }, 'TaskCreated');
  change(b, 2, base + 2000, { assigneeId: bob }, 'TaskUpdated');
  change(b, 3, base + 3000, { assigneeId: alice }, 'TaskUpdated');
  change(b, 4, base + 4000, { status: 'IN_PROGRESS' });
  // c: done, then deleted (its day must not count any more)
  const c = randomUUID();
  change(c, 1, base + 2 * DAY, { assigneeId: bob });
  change(c, 2, base + 2 * DAY + 10, { status: 'IN_PROGRESS' });
  change(c, 3, base + 2 * DAY + 20, { status: 'IN_REVIEW' });
  change(c, 4, base + 2 * DAY + 30, { status: 'DONE' });
  remove(c, base + 2 * DAY + 40);
  // d: unassigned, done on day 1
  const d = randomUUID();
  change(d, 1, base, {});
  change(d, 2, base + 600_000, { status: 'IN_PROGRESS' });
  change(d, 3, base + 700_000, { status: 'IN_REVIEW' });
  change(d, 4, base + 1 * DAY + 5000, { status: 'DONE' });
  // e: created and deleted right away; f: only a create
  const e = randomUUID();
  change(e, 1, base + 100, { assigneeId: bob });
  remove(e, base + 200);
  const f = randomUUID();
  change(f, 1, base + 3 * DAY, { assigneeId: bob, dueDate: due(10) });
}

/** The metrics the read model should give, recomputed from the histories. */
function expected(now: Date) {
  const live = [...finals.values()].filter((t) => !t.deleted);
  const done = live.filter((t) => t.state.status === 'DONE');
  const cycles = done
    .filter((t) => t.firstInProgressAt !== null)
    .map((t) => (Date.parse(t.state.completedAt!) - t.firstInProgressAt!) / 3_600_000);
  const perDay = new Map<string, number>();
  for (const t of done) perDay.set(t.state.completedAt!.slice(0, 10), (perDay.get(t.state.completedAt!.slice(0, 10)) ?? 0) + 1);
  const byStatus = ['TODO', 'IN_PROGRESS', 'IN_REVIEW', 'DONE'].map((status) => ({
    status,
    count: live.filter((t) => t.state.status === status).length,
  }));
  const assignees = [...new Set(live.map((t) => t.state.assigneeId))];
  return {
    totalTasks: live.length,
    completedTasks: done.length,
    overdueTasks: live.filter((t) => t.state.status !== 'DONE' && t.state.dueDate && Date.parse(t.state.dueDate) < now.getTime())
      .length,
    averageCycleTimeHours: cycles.reduce((s, x) => s + x, 0) / cycles.length,
    byStatus,
    byAssignee: assignees
      .map((id) => {
        const mine = live.filter((t) => t.state.assigneeId === id);
        return {
          assigneeId: id,
          count: mine.length,
          open: mine.filter((t) => t.state.status !== 'DONE').length,
          completed: mine.filter((t) => t.state.status === 'DONE').length,
        };
      })
      .sort((x, y) => y.count - x.count || String(x.assigneeId).localeCompare(String(y.assigneeId))),
    perDay,
  };
}

const at = (g: Generation) => ({ get: async () => g }) as unknown as CurrentGeneration;

beforeAll(async () => {
  await mongoose.connect(process.env.MONGO_URL!, { dbName: `t_analytics_rm_${randomBytes(4).toString('hex')}` });
  buildHistories();
});

afterAll(async () => {
  await mongoose.connection.db?.dropDatabase().catch(() => undefined);
  await mongoose.disconnect();
});

describe('the embedded store serves what the metrics use', () => {
  it('$facet with $group/$sum/$cond, $avg of a date $subtract, $match on null and dates', async () => {
    const g = await generation(90);
    await g.facts.insertMany([
      {
        _id: 'x1',
        projectId: 'p',
        version: 1,
        active: true,
        status: 'DONE',
        assigneeId: 'u',
        createdAt: new Date(base),
        firstInProgressAt: new Date(base),
        completedAt: new Date(base + 2 * 3600_000),
        dueDate: null,
      },
      {
        _id: 'x2',
        projectId: 'p',
        version: 1,
        active: true,
        status: 'TODO',
        assigneeId: null,
        createdAt: new Date(base),
        dueDate: new Date(base - DAY),
      },
      {
        _id: 'x3',
        projectId: 'p',
        version: 1,
        active: true,
        status: 'DONE',
        assigneeId: 'u',
        createdAt: new Date(base),
        firstInProgressAt: new Date(base),
        completedAt: new Date(base + 4 * 3600_000),
      },
    ]);
    const [f] = await g.facts.aggregate([
      { $match: { projectId: 'p', active: true, createdAt: { $lte: new Date(base + DAY) } } },
      {
        $facet: {
          byStatus: [{ $group: { _id: '$status', count: { $sum: 1 } } }],
          byAssignee: [{ $group: { _id: '$assigneeId', open: { $sum: { $cond: [{ $eq: ['$status', 'DONE'] }, 0, 1] } } } }],
          overdue: [
            { $match: { status: { $ne: 'DONE' }, dueDate: { $ne: null, $lt: new Date(base) } } },
            { $group: { _id: null, n: { $sum: 1 } } },
          ],
        },
      },
    ]);
    expect(new Map(f.byStatus.map((s: { _id: string; count: number }) => [s._id, s.count]))).toEqual(
      new Map([
        ['DONE', 2],
        ['TODO', 1],
      ]),
    );
    expect(new Map(f.byAssignee.map((s: { _id: string; open: number }) => [s._id, s.open]))).toEqual(
      new Map([
        ['u', 0],
        [null, 1],
      ]),
    );
    expect(f.overdue).toEqual([{ _id: null, n: 1 }]);
    const [avg] = await g.facts.aggregate([
      { $match: { projectId: 'p', completedAt: { $lte: new Date(base + DAY) }, firstInProgressAt: { $ne: null } } },
      { $group: { _id: null, avgMs: { $avg: { $subtract: ['$completedAt', '$firstInProgressAt'] } }, n: { $sum: 1 } } },
    ]);
    expect(avg).toEqual({ _id: null, avgMs: 3 * 3600_000, n: 2 });
    await dropGeneration(90);
  });
});

describe('projector', () => {
  it('applies histories in order and gives the recomputed metrics', async () => {
    const g = await generation(1);
    const p = new Projector(g);
    for (const e of events) await p.apply(e);
    const now = new Date(base + 4 * DAY);
    const m = await new MetricsService(at(g)).compute(projectId, { from: new Date(base - DAY), to: now }, now);
    const want = expected(now);
    expect(m.totalTasks).toBe(want.totalTasks);
    expect(m.completedTasks).toBe(want.completedTasks);
    expect(m.completionRate).toBeCloseTo(want.completedTasks / want.totalTasks, 10);
    expect(m.overdueTasks).toBe(want.overdueTasks);
    expect(m.averageCycleTimeHours).toBeCloseTo(want.averageCycleTimeHours, 6);
    expect(m.byStatus).toEqual(want.byStatus);
    expect(m.byAssignee).toEqual(want.byAssignee);
    for (const d of m.throughput) expect([d.date, d.count]).toEqual([d.date, want.perDay.get(d.date) ?? 0]);
    expect(m.throughput.reduce((s, d) => s + d.count, 0)).toBe(want.completedTasks);
  });

  it('a replay shuffled and twice over gives the same read model (and stale events change nothing)', async () => {
    const live = await snapshot(await generation(1));
    for (const round of [1, 2, 3]) {
      const g = await generation(10 + round);
      const p = new Projector(g, { deferBuckets: round === 3 });
      for (const e of shuffled([...events, ...events])) await p.apply(e);
      if (round === 3) await recountAllBuckets(g);
      expect(await snapshot(g)).toEqual(live);
      // everything again: all stale now
      const results = new Set<string>();
      for (const e of shuffled(events)) results.add(await p.apply(e));
      expect([...results].filter((r) => r === 'applied')).toEqual([]);
      expect(await snapshot(g)).toEqual(live);
      await dropGeneration(10 + round);
    }
  });

  it('a delete before its create leaves nothing; an older state after a newer one rolls nothing back', async () => {
    const g = await generation(20);
    const p = new Projector(g);
    const t = randomUUID();
    const mk = (type: string, version: number, status: string, atMs: number): DomainEvent => ({
      id: randomUUID(),
      type,
      at: new Date(atMs).toISOString(),
      actorId: null,
      correlationId: null,
      payload: {
        taskId: t,
        projectId,
        version,
        state: {
          title: 'x',
          status,
          priority: 'LOW',
          assigneeId: null,
          dueDate: null,
          createdAt: null,
          completedAt: status === 'DONE' ? new Date(atMs).toISOString() : null,
        },
      },
    });
    expect(await p.apply(mk('TaskMoved', 3, 'IN_REVIEW', base + 30))).toBe('applied');
    expect(await p.apply(mk('TaskMoved', 2, 'IN_PROGRESS', base + 20))).toBe('stale');
    const fact = await g.facts.findById(t).lean();
    expect(fact).toMatchObject({ status: 'IN_REVIEW', version: 3, firstInProgressAt: new Date(base + 20) });
    expect(await p.apply({ ...mk('TaskDeleted', 0, 'TODO', base + 40), payload: { taskId: t, projectId, version: 0 } })).toBe(
      'applied',
    );
    expect(await p.apply(mk('TaskCreated', 1, 'TODO', base + 10))).toBe('stale');
    expect(await p.apply(mk('TaskMoved', 4, 'DONE', base + 50))).toBe('stale');
    expect(await g.facts.countDocuments({ projectId, active: true })).toBe(0);
    await dropGeneration(20);
  });
});
