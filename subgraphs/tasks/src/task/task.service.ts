import { randomUUID } from 'node:crypto';
import {
  AppError,
  assertId,
  ErrorCode,
  outboxPush,
  type Locks,
  type OutboxRelay,
  type PermissionsClient,
  type RequestAccess,
} from '@tm/kit';
import { CommentModel } from '../comment/comment.model';
import { endOfColumn, isDuplicateKey, rebalance, slotAfter, slotAt } from './board';
import type { CommentCounts } from '../comment/comment-count';
import { findLiveTask, taskLock } from './task-lock';
import type { TaskPages } from './task-pages';
import { taskEvent, type Actor } from './task.events';
import { NO_DUE_DATE, Task, TaskModel } from './task.model';
import { taskRules as rules } from './task.rules';
import { canTransition, PRIORITY_RANK, TaskPriority, TaskStatus } from './task-enums';

export interface TaskDraft {
  id?: string | null;
  projectId: string;
  title: string;
  description?: string | null;
  assigneeId?: string | null;
  dueDate?: Date | null;
  priority?: TaskPriority | null;
  labels?: string[] | null;
  parentId?: string | null;
}

export interface TaskChanges {
  title?: string | null;
  description?: string | null;
  assigneeId?: string | null;
  dueDate?: Date | null;
  priority?: TaskPriority | null;
  labels?: string[] | null;
  status?: TaskStatus | null;
}

export interface MoveRequest {
  status: TaskStatus;
  position?: number | null;
  afterTaskId?: string | null;
  expectedVersion?: number | null;
}

export interface ActorWithAccess extends Actor {
  access: RequestAccess;
}

const MAX_ATTEMPTS = 8;
/** Task fields never sent to resolvers. */
export const TASK_PROJECTION = { pendingEvents: 0 } as const;

function notFound(): AppError {
  return new AppError(ErrorCode.NotFound, 'Task not found or no access');
}

/**
 * Tasks: creation (idempotent), changes under optimistic concurrency, board moves, deletion
 * with subtasks. Every change bumps `version` and stores its events in the task's outbox in the
 * same update.
 */
export class TaskService {
  constructor(
    private readonly relay: OutboxRelay<Task>,
    private readonly permissions: PermissionsClient,
    private readonly prefix: string,
    private readonly locks: Locks,
    private readonly pages: TaskPages,
    private readonly counts: CommentCounts,
  ) {}

  async create(actor: ActorWithAccess, draft: TaskDraft): Promise<Task> {
    const code = ErrorCode.TaskCreateFailed;
    const id = draft.id ? rules.id(draft.id, 'id', code) : randomUUID();
    const projectId = rules.id(draft.projectId, 'projectId', code);
    await actor.access.require(projectId, 'MEMBER', { write: true });
    const fields = {
      title: rules.title(draft.title, code),
      description: rules.description(draft.description, code),
      dueDate: rules.dueDate(draft.dueDate, code),
      labels: rules.labels(draft.labels, code),
      priority: draft.priority ?? TaskPriority.MEDIUM,
      assigneeId: draft.assigneeId ? await this.checkAssignee(draft.assigneeId, projectId, code) : null,
      parentId: draft.parentId ? await this.checkParent(draft.parentId, projectId, code) : null,
    };
    const column = { projectId, status: TaskStatus.TODO };
    /** One try at the current end of the column; null when another task took that slot first. */
    const insert = async (): Promise<{ task: Task; created: boolean } | null> => {
      const position = await endOfColumn(column);
      try {
        const doc = await TaskModel.create({
          _id: id,
          ...column,
          ...fields,
          priorityRank: PRIORITY_RANK[fields.priority],
          dueSort: fields.dueDate ?? NO_DUE_DATE,
          reporterId: actor.userId,
          position,
          version: 1,
          completedAt: null,
          commentCount: 0,
          deletedAt: null,
          pendingEvents: [taskEvent(this.prefix, 'CREATED', { _id: id, projectId, version: 1 }, actor)],
          hasPending: true,
        });
        return { task: doc.toObject(), created: true };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const existing = await TaskModel.findById(id, TASK_PROJECTION).lean<Task>();
        if (existing) {
          // a retry of this very create: the first attempt may have stopped before the end
          if (existing.projectId === projectId && existing.reporterId === actor.userId && !existing.deletedAt)
            return { task: existing, created: false };
          throw new AppError(code, 'Invalid id: already used', { field: 'id' });
        }
        return null;
      }
    };
    // uncontended: no lock. Contended (the end was taken meanwhile): the column's creators take
    // turns under its lock, each taking the end in its turn (a move may still take it: try again)
    const done =
      (await insert()) ??
      (await this.locks.with(
        `column:${projectId}:${TaskStatus.TODO}`,
        async () => {
          for (let attempt = 2; ; attempt++) {
            const result = await insert();
            if (result) return result;
            if (attempt >= MAX_ATTEMPTS) throw new AppError(code, 'The board is busy, try again', { field: 'position' });
            await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
          }
        },
        { waitMs: 15_000 },
      ));
    await this.pages.changed(projectId);
    await this.relay.flushQuietly(id); // a retry too: its first attempt may have stopped before sending
    return done.task;
  }

  async update(actor: ActorWithAccess, id: string, changes: TaskChanges, expectedVersion?: number | null): Promise<Task> {
    const code = ErrorCode.TaskUpdateFailed;
    return this.change(actor, id, expectedVersion, async (current) => {
      const set: Record<string, unknown> = {};
      if (changes.title !== undefined) set.title = rules.title(changes.title, code);
      if (changes.description !== undefined) set.description = rules.description(changes.description, code);
      if (changes.dueDate !== undefined) {
        set.dueDate = rules.dueDate(changes.dueDate, code);
        set.dueSort = set.dueDate ?? NO_DUE_DATE;
      }
      if (changes.labels !== undefined) set.labels = rules.labels(changes.labels, code);
      if (changes.priority) {
        set.priority = changes.priority;
        set.priorityRank = PRIORITY_RANK[changes.priority];
      }
      if (changes.assigneeId !== undefined) {
        set.assigneeId = changes.assigneeId ? await this.checkAssignee(changes.assigneeId, current.projectId, code) : null;
      }
      let kind: 'UPDATED' | 'MOVED' = 'UPDATED';
      if (changes.status && changes.status !== current.status) {
        Object.assign(set, await this.statusChange(current, changes.status, null));
        kind = 'MOVED';
      }
      return {
        set,
        kind,
        fields: Object.keys(set).filter((k) => !['dueSort', 'priorityRank', 'completedAt', 'position'].includes(k)),
      };
    });
  }

  /** Moves a task to a column and a place in it: after `afterTaskId`, at `position`, or at the end. */
  async move(actor: ActorWithAccess, id: string, req: MoveRequest): Promise<Task> {
    return this.change(actor, id, req.expectedVersion, async (current) => {
      const set = await this.statusChange(current, req.status, req);
      return { set, kind: 'MOVED' as const, fields: ['status', 'position'] };
    });
  }

  /** Deletes a task and all its subtasks (and their comments). */
  async delete(actor: ActorWithAccess, id: string): Promise<boolean> {
    assertId(id, 'id');
    const task = await findLiveTask(id, { projectId: 1, deletedAt: 1 });
    if (!task) throw notFound();
    await actor.access.require(task.projectId, 'MEMBER', { write: true });
    const ids = [id];
    for (let frontier = [id]; frontier.length;) {
      const children = await TaskModel.find({ parentId: { $in: frontier }, deletedAt: null }, { _id: 1 }).lean<
        Array<Pick<Task, '_id'>>
      >();
      frontier = children.map((c) => c._id).filter((c) => !ids.includes(c));
      ids.push(...frontier);
    }
    const now = new Date();
    for (const taskId of ids.reverse()) {
      await this.locks.with(taskLock(taskId), () =>
        TaskModel.updateOne(
          { _id: taskId, deletedAt: null },
          {
            // out of the column's position space, so the unique board order never sees it again
            $set: { deletedAt: now, position: -(now.getTime() + Math.random()), hasPending: true },
            $push: {
              pendingEvents: taskEvent(this.prefix, 'DELETED', { _id: taskId, projectId: task.projectId, version: 0 }, actor),
            },
          },
        ),
      );
    }
    await CommentModel.deleteMany({ taskId: { $in: ids } });
    await this.pages.changed(task.projectId);
    for (const taskId of ids) await this.relay.flushQuietly(taskId);
    return true;
  }

  /** A task the caller may see, else PERM-002 (unknown and invisible look the same). */
  async get(access: RequestAccess, id: string): Promise<Task> {
    assertId(id, 'id');
    const task = await findLiveTask(id, TASK_PROJECTION);
    if (!task || !(await access.of(task.projectId))) throw notFound();
    return task;
  }

  byIds(ids: readonly string[]): Promise<Task[]> {
    return TaskModel.find({ _id: { $in: [...ids] }, deletedAt: null }, TASK_PROJECTION).lean<Task[]>();
  }

  subtasksOf(parentIds: readonly string[]): Promise<Task[]> {
    return TaskModel.find({ parentId: { $in: [...parentIds] }, deletedAt: null }, TASK_PROJECTION)
      .sort({ position: 1, _id: 1 })
      .lean<Task[]>();
  }

  /** ADMIN: re-publishes a task's current state (live and on the stream), recounting its comments and dropping cached pages. */
  async synchronize(actor: Actor, id: string): Promise<boolean> {
    assertId(id, 'id');
    const task = await findLiveTask(id, TASK_PROJECTION);
    if (!task) throw new AppError(ErrorCode.NotFound, 'Task not found');
    // the repairs a consistency check may ask for: the comment count and cached pages
    await this.counts.recount(id);
    await this.pages.changed(task.projectId);
    const event = taskEvent(this.prefix, 'UPDATED', task, actor, { state: stateOf(task) }, 'TaskSynchronized');
    await this.locks.with(taskLock(id), () => TaskModel.updateOne({ _id: id }, outboxPush([event])));
    await this.relay.flush(id);
    return true;
  }

  /**
   * Read, decide, write with compare-and-set on `version`. With `expectedVersion`, a stale one is
   * TASK-002 and changes nothing; without it, a concurrent change makes us re-read and re-decide.
   */
  private async change(
    actor: ActorWithAccess,
    id: string,
    expectedVersion: number | null | undefined,
    decide: (current: Task) => Promise<{ set: Record<string, unknown>; kind: 'UPDATED' | 'MOVED'; fields: string[] }>,
  ): Promise<Task> {
    assertId(id, 'id');
    const task = await this.locks.with(taskLock(id), () => this.changeLocked(actor, id, expectedVersion, decide));
    // the relay holds the task's lock too (it writes the document): flush once ours is released
    await this.relay.flushQuietly(id);
    return task;
  }

  private async changeLocked(
    actor: ActorWithAccess,
    id: string,
    expectedVersion: number | null | undefined,
    decide: (current: Task) => Promise<{ set: Record<string, unknown>; kind: 'UPDATED' | 'MOVED'; fields: string[] }>,
  ): Promise<Task> {
    for (let attempt = 1; ; attempt++) {
      const current = await findLiveTask(id, TASK_PROJECTION);
      if (!current) throw notFound();
      await actor.access.require(current.projectId, 'MEMBER', { write: true });
      if (expectedVersion !== null && expectedVersion !== undefined && expectedVersion !== current.version) {
        throw new AppError(ErrorCode.TaskUpdateFailed, `Task was changed by someone else (version ${current.version})`, {
          field: 'expectedVersion',
          currentVersion: current.version,
        });
      }
      const { set, kind, fields } = await decide(current);
      const version = current.version + 1;
      const event = taskEvent(this.prefix, kind, { ...current, version }, actor, { fields });
      try {
        const updated = await TaskModel.findOneAndUpdate(
          { _id: id, version: current.version, deletedAt: null },
          { $set: { ...set, hasPending: true }, $inc: { version: 1 }, $push: { pendingEvents: event } },
          { returnDocument: 'after' }, // no projection: FerretDB's findAndModify does not take one
        ).lean<Task>();
        if (updated) {
          await this.pages.changed(updated.projectId);
          return { ...updated, pendingEvents: [] };
        }
        if (expectedVersion !== null && expectedVersion !== undefined) {
          const now = await TaskModel.findById(id, { version: 1 }).lean<Task>();
          throw new AppError(ErrorCode.TaskUpdateFailed, 'Task was changed by someone else', {
            field: 'expectedVersion',
            currentVersion: now?.version ?? null,
          });
        }
      } catch (err) {
        if (!isDuplicateKey(err)) throw err; // a concurrent move took the same slot: decide again
      }
      if (attempt >= MAX_ATTEMPTS) throw new AppError(ErrorCode.TaskUpdateFailed, 'The task is changing too often, try again');
    }
  }

  /** The fields of a status and/or position change, checking the workflow. */
  private async statusChange(
    current: Task,
    status: TaskStatus,
    req: Pick<MoveRequest, 'position' | 'afterTaskId'> | null,
  ): Promise<Record<string, unknown>> {
    if (!canTransition(current.status, status)) {
      throw new AppError(
        ErrorCode.TaskUpdateFailed,
        `Invalid status change ${current.status} → ${status}: one step forward at a time`,
        { field: 'status' },
      );
    }
    const column = { projectId: current.projectId, status };
    let position: number | null;
    for (let pass = 0; ; pass++) {
      if (req?.afterTaskId) {
        const afterId = assertId(req.afterTaskId, 'afterTaskId');
        const after = await TaskModel.findOne({ _id: afterId, ...column, deletedAt: null }, { position: 1 }).lean<Task>();
        if (!after)
          throw new AppError(ErrorCode.TaskUpdateFailed, 'Invalid afterTaskId: not in that column', { field: 'afterTaskId' });
        position = afterId === current._id ? current.position : await slotAfter(column, after.position, current._id);
      } else if (req?.position !== null && req?.position !== undefined) {
        if (!Number.isFinite(req.position) || Math.abs(req.position) > 1e12) {
          throw new AppError(ErrorCode.TaskUpdateFailed, 'Invalid position', { field: 'position' });
        }
        position = await slotAt(column, req.position, current._id);
      } else {
        position = status === current.status ? current.position : await endOfColumn(column);
      }
      if (position !== null) break;
      if (pass > 0) throw new AppError(ErrorCode.TaskUpdateFailed, 'The board is busy, try again', { field: 'position' });
      await rebalance(column);
    }
    const set: Record<string, unknown> = { status, position };
    if (status !== current.status) set.completedAt = status === TaskStatus.DONE ? new Date() : null;
    return set;
  }

  private async checkAssignee(assigneeId: string, projectId: string, code: ErrorCode): Promise<string> {
    const id = assertId(assigneeId, 'assigneeId', code);
    if (!(await this.permissions.access(id, projectId))) {
      throw new AppError(ErrorCode.NotProjectMember, 'Invalid assigneeId: not a member of the project', { field: 'assigneeId' });
    }
    return id;
  }

  private async checkParent(parentId: string, projectId: string, code: ErrorCode): Promise<string> {
    const id = assertId(parentId, 'parentId', code);
    const parent = await findLiveTask(id, { projectId: 1, deletedAt: 1 });
    if (!parent || parent.projectId !== projectId)
      throw new AppError(code, 'Invalid parentId: no such task in this project', { field: 'parentId' });
    return id;
  }
}

function stateOf(t: Task): Record<string, unknown> {
  return {
    title: t.title,
    status: t.status,
    priority: t.priority,
    assigneeId: t.assigneeId ?? null,
    dueDate: t.dueDate ?? null,
    labels: t.labels,
    position: t.position,
    version: t.version,
  };
}
