import { isDuplicateKeyError } from '@tm/kit/contracts';
import { type DomainEvent } from '@tm/kit/infra';
import { dayOf, type TaskFact } from './task-fact.model';
import type { Generation } from './readmodel.generation';

/** The task state events of the tasks stream carry (`payload.state`): the task as the change left it. */
export interface TaskState {
  title: string;
  status: string;
  priority: string;
  assigneeId: string | null;
  dueDate: string | null;
  completedAt: string | null;
  createdAt: string | null;
}

interface TaskPayload {
  taskId?: string;
  projectId?: string;
  version?: number;
  state?: TaskState;
}

/** A deleted task's version: larger than any real one, so nothing brings a deleted task back. */
export const TOMBSTONE_VERSION = Number.MAX_SAFE_INTEGER;

export type ApplyResult = 'applied' | 'stale' | 'ignored';

const MAX_ATTEMPTS = 20;

/**
 * Applies domain events to one generation of the read model. Idempotent and order-independent:
 * a task's facts take the state of the event with the highest task version (an event at or below
 * the version held changes nothing, so a duplicate of an event id — the same task version — is a
 * no-op, and an older event never rolls a task back), a deletion is final, and the times that
 * older events still contribute (creation, first IN_PROGRESS) are kept with `$min`.
 * Each fact change is one compare-and-set on the version read; the daily buckets it touches are
 * then recounted from the facts (absolute values: a recount can run again any time).
 */
export class Projector {
  /** `deferBuckets`: a rebuild recounts every bucket once at the end instead of per event. */
  constructor(
    private readonly g: Generation,
    private readonly opts: { deferBuckets?: boolean } = {},
  ) {}

  async apply(event: DomainEvent): Promise<ApplyResult> {
    const p = event.payload as TaskPayload;
    switch (event.type) {
      case 'TaskCreated':
      case 'TaskUpdated':
      case 'TaskMoved':
      case 'TaskSynchronized':
        if (!p.taskId || !p.projectId || typeof p.version !== 'number' || !p.state) return 'ignored';
        return this.upsert(event, p as Required<TaskPayload>, event.type === 'TaskSynchronized');
      case 'TaskDeleted':
        if (!p.taskId || !p.projectId) return 'ignored';
        return this.tombstone(event, p.taskId, p.projectId);
      case 'ProjectDeleted':
        if (!p.projectId) return 'ignored';
        return this.dropProject(p.projectId);
      default:
        return 'ignored';
    }
  }

  private async upsert(event: DomainEvent, p: Required<TaskPayload>, resync: boolean): Promise<ApplyResult> {
    const { facts } = this.g;
    const at = new Date(event.at);
    const s = p.state;
    const completedAt = s.status === 'DONE' && s.completedAt ? new Date(s.completedAt) : null;
    const createdAt = s.createdAt ? new Date(s.createdAt) : at;
    const mins: Record<string, Date> = { createdAt };
    if (s.status === 'IN_PROGRESS') mins.firstInProgressAt = at;
    const state = {
      projectId: p.projectId,
      version: p.version,
      active: true,
      deleted: false,
      title: s.title,
      status: s.status,
      priority: s.priority,
      assigneeId: s.assigneeId ?? null,
      dueDate: s.dueDate ? new Date(s.dueDate) : null,
      completedAt,
      completedDay: completedAt ? dayOf(completedAt) : null,
      lastEventId: event.id,
    };
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const cur = await facts.findById(p.taskId, { version: 1, deleted: 1, completedDay: 1, projectId: 1 }).lean<TaskFact>();
      if (cur && (cur.deleted || cur.version > p.version || (cur.version === p.version && !resync))) {
        // older than what is held (or the same event again): only the order-independent times
        if (!cur.deleted) await facts.updateOne({ _id: p.taskId }, { $min: mins });
        return 'stale';
      }
      const days = [...new Set([cur?.completedDay, state.completedDay].filter((d): d is string => !!d))];
      if (!cur) {
        try {
          await facts.create({ _id: p.taskId, ...state, ...mins, dirtyDays: days, dirty: days.length > 0 });
        } catch (err) {
          if (isDuplicateKeyError(err)) continue; // another event of the task came first: decide again
          throw err;
        }
      } else {
        const r = await facts.updateOne(
          { _id: p.taskId, version: cur.version, deleted: false },
          { $set: { ...state, dirtyDays: days, dirty: days.length > 0 }, $min: mins },
        );
        if (r.matchedCount === 0) continue;
      }
      await this.settleBuckets(p.taskId, p.projectId, days);
      return 'applied';
    }
    throw new Error('task facts changed too often');
  }

  private async tombstone(event: DomainEvent, taskId: string, projectId: string): Promise<ApplyResult> {
    const { facts } = this.g;
    const cur = await facts.findById(taskId, { deleted: 1, completedDay: 1 }).lean<TaskFact>();
    if (cur?.deleted) return 'stale';
    const days = cur?.completedDay ? [cur.completedDay] : [];
    await facts.updateOne(
      { _id: taskId },
      {
        $set: {
          projectId,
          deleted: true,
          active: false,
          version: TOMBSTONE_VERSION,
          lastEventId: event.id,
          dirtyDays: days,
          dirty: days.length > 0,
        },
        // a tombstone is the same whichever events came before it
        $unset: {
          title: 1,
          status: 1,
          priority: 1,
          assigneeId: 1,
          dueDate: 1,
          createdAt: 1,
          completedAt: 1,
          completedDay: 1,
          firstInProgressAt: 1,
        },
      },
      { upsert: true },
    );
    await this.settleBuckets(taskId, projectId, days);
    return 'applied';
  }

  private async dropProject(projectId: string): Promise<ApplyResult> {
    const { facts, buckets } = this.g;
    await facts.updateMany({ projectId, deleted: false }, { $set: { deleted: true, active: false, version: TOMBSTONE_VERSION } });
    await buckets.deleteMany({ projectId });
    return 'applied';
  }

  /** Recounts the buckets a fact change touched, then clears its marks (unless it changed again meanwhile). */
  private async settleBuckets(taskId: string, projectId: string, days: string[]): Promise<void> {
    if (!days.length || this.opts.deferBuckets) return;
    for (const day of days) await recountBucket(this.g, projectId, day);
    await this.g.facts.updateOne(
      { _id: taskId, dirtyDays: { $all: days, $size: days.length } },
      { $set: { dirtyDays: [], dirty: false } },
    );
  }
}

/** Sets one bucket to the number of the project's active facts completed that day. */
export async function recountBucket(g: Generation, projectId: string, day: string): Promise<void> {
  const count = () => g.facts.countDocuments({ projectId, active: true, completedDay: day });
  // two processes recounting one day at once: the slower write may carry the older count, so
  // count again after writing and write again until the count holds (a few rounds at most)
  let completed = await count();
  for (let round = 0; round < 5; round++) {
    await g.buckets.updateOne({ _id: `${projectId}:${day}` }, { $set: { projectId, day, completed } }, { upsert: true });
    const again = await count();
    if (again === completed) return;
    completed = again;
  }
}

/** Recounts what a crash left marked (facts changed whose buckets were not recounted). */
export async function settleDirty(g: Generation, limit = 500): Promise<number> {
  const marked = await g.facts.find({ dirty: true }, { projectId: 1, dirtyDays: 1 }).limit(limit).lean<TaskFact[]>();
  for (const f of marked) {
    for (const day of f.dirtyDays) await recountBucket(g, f.projectId, day);
    await g.facts.updateOne(
      { _id: f._id, dirtyDays: { $all: f.dirtyDays, $size: f.dirtyDays.length } },
      { $set: { dirtyDays: [], dirty: false } },
    );
  }
  return marked.length;
}

/** Every bucket of a generation recounted from its facts in one aggregation (end of a rebuild). */
export async function recountAllBuckets(g: Generation): Promise<number> {
  const rows = await g.facts.aggregate<{ _id: { projectId: string; day: string }; n: number }>([
    { $match: { active: true, completedDay: { $ne: null } } },
    { $group: { _id: { projectId: '$projectId', day: '$completedDay' }, n: { $sum: 1 } } },
  ]);
  const ids = rows.map((r) => `${r._id.projectId}:${r._id.day}`);
  if (rows.length) {
    await g.buckets.bulkWrite(
      rows.map((r, i) => ({
        updateOne: {
          filter: { _id: ids[i] },
          update: { $set: { projectId: r._id.projectId, day: r._id.day, completed: r.n } },
          upsert: true,
        },
      })),
    );
  }
  await g.buckets.updateMany({ _id: { $nin: ids } }, { $set: { completed: 0 } });
  await g.facts.updateMany({ dirty: true }, { $set: { dirtyDays: [], dirty: false } });
  return rows.length;
}
