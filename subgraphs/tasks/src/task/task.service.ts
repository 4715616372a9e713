import { randomUUID } from 'node:crypto';
import { AppError, assertId, ErrorCode, type PermissionsClient, type RequestAccess } from '@tm/kit/contracts';
import { outboxPush, type OutboxRelay } from '@tm/kit/infra';
import type { CommentService } from '../comment/comment.service';
import { endOfColumn, isDuplicateKey, rebalance, slotAfter, slotAt } from './board.order';
import type { CommentCounts } from '../comment/comment-count.service';
import { taskEvent, type Actor } from './task.events';
import { NO_DUE_DATE, Task, TaskModel } from './task.model';
import { taskRules as rules } from './task.rules';
import { canTransition, PRIORITY_RANK, TaskPriority, TaskStatus } from './task.enums';

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
const live = (id: string) => ({ _id: id, deletedAt: null });

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
    private readonly counts: CommentCounts,
    private readonly comments: Pick<CommentService, 'deleteForTasks'>,
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
    // each try takes a fresh slot at the end of the column (BoardColumn: one atomic $inc, so
    // concurrent creates never share one); a try fails only when the id is taken, or, rarely,
    // when a move placed a task exactly on the slot meanwhile (take another)
    let done: Task | undefined;
    for (let attempt = 1; !done; attempt++) {
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
          pendingEvents: [
            taskEvent(this.prefix, 'CREATED', { _id: id, projectId, version: 1 }, actor, {
              state: stateOf({ ...fields, ...column, reporterId: actor.userId, position, version: 1 } as Task),
            }),
          ],
          hasPending: true,
        });
        done = { ...doc.toObject(), pendingEvents: [] };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const existing = await TaskModel.findById(id, TASK_PROJECTION).lean<Task>();
        if (existing) {
          // the same create again (a retry, or sent twice at once): the one task it made
          if (existing.projectId === projectId && existing.reporterId === actor.userId && !existing.deletedAt) done = existing;
          else throw new AppError(code, 'Invalid id: already used', { field: 'id' });
        } else if (attempt >= MAX_ATTEMPTS) {
          throw new AppError(code, 'The board is busy, try again', { field: 'position' });
        }
      }
    }
    await this.relay.flushQuietly(id); // a retry too: its first attempt may have stopped before sending
    return done;
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
    const task = await TaskModel.findOne(live(id), { projectId: 1 }).lean<Pick<Task, '_id' | 'projectId'>>();
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
      await TaskModel.updateOne(live(taskId), {
        // out of the column's position space, so the unique board order never sees it again
        $set: { deletedAt: now, position: -(now.getTime() + Math.random()), hasPending: true },
        $push: {
          pendingEvents: taskEvent(this.prefix, 'DELETED', { _id: taskId, projectId: task.projectId, version: 0 }, actor),
        },
      });
    }
    for (const taskId of ids) await this.relay.flushQuietly(taskId);
    // soft, like the tasks: a comment keeps its unsent events (and gets its CommentDeleted) until
    // the comment relay has sent them, then the relay removes it
    await this.comments.deleteForTasks(actor, ids, now);
    return true;
  }

  /** A task the caller may see, else PERM-002 (unknown and invisible look the same). */
  async get(access: RequestAccess, id: string): Promise<Task> {
    assertId(id, 'id');
    const task = await TaskModel.findOne(live(id), TASK_PROJECTION).lean<Task>();
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

  /** ADMIN: re-publishes a task's current state (live and on the stream), recounting its comments. */
  async synchronize(actor: Actor, id: string): Promise<boolean> {
    assertId(id, 'id');
    // the repair a consistency check may ask for: the comment count
    await this.counts.recount(id);
    const task = await TaskModel.findOne(live(id), TASK_PROJECTION).lean<Task>();
    if (!task) throw new AppError(ErrorCode.NotFound, 'Task not found');
    const event = taskEvent(this.prefix, 'UPDATED', task, actor, { state: stateOf(task) }, 'TaskSynchronized');
    await TaskModel.updateOne(live(id), outboxPush([event]));
    await this.relay.flush(id);
    return true;
  }

  /**
   * Read, decide, write with compare-and-set on `version` (in the update's filter: MongoDB applies
   * it atomically, so of concurrent writers from one version exactly one matches). With
   * `expectedVersion`, a stale one, or losing that race, is TASK-002 and changes nothing; without
   * it, a concurrent change makes us re-read and re-decide.
   */
  private async change(
    actor: ActorWithAccess,
    id: string,
    expectedVersion: number | null | undefined,
    decide: (current: Task) => Promise<{ set: Record<string, unknown>; kind: 'UPDATED' | 'MOVED'; fields: string[] }>,
  ): Promise<Task> {
    assertId(id, 'id');
    const expected = expectedVersion ?? null;
    const stale = (currentVersion: number | null) =>
      new AppError(
        ErrorCode.TaskUpdateFailed,
        `Task was changed by someone else${currentVersion === null ? '' : ` (version ${currentVersion})`}`,
        {
          field: 'expectedVersion',
          currentVersion,
        },
      );
    for (let attempt = 1; ; attempt++) {
      const current = await TaskModel.findOne(live(id), TASK_PROJECTION).lean<Task>();
      if (!current) throw notFound();
      await actor.access.require(current.projectId, 'MEMBER', { write: true });
      // a version we have not read (yet): not one our decision could be based on
      if (expected !== null && expected > current.version) throw stale(current.version);
      let decided: Awaited<ReturnType<typeof decide>>;
      try {
        decided = await decide(current);
      } catch (err) {
        if (expected !== null && expected !== current.version) throw stale(current.version); // stale is the answer
        throw err;
      }
      const { set, kind, fields } = decided;
      const version = current.version + 1;
      // the task as it is after the change (consumers such as notifications keep what they need of it)
      const event = taskEvent(this.prefix, kind, { ...current, version }, actor, {
        fields,
        state: stateOf({ ...current, ...set, version } as Task),
        previousAssigneeId: current.assigneeId ?? null,
      });
      try {
        // with an older expectedVersion too, the store decides (versions only grow: it matches
        // nothing); of concurrent writers from one version, the filter lets exactly one through
        // the outbox comes back with the task: the flush sends it without reading the task again
        const updated = await TaskModel.findOneAndUpdate(
          { ...live(id), version: expected ?? current.version },
          { $set: { ...set, hasPending: true }, $inc: { version: 1 }, $push: { pendingEvents: event } },
          { returnDocument: 'after' },
        ).lean<Task>();
        if (updated) {
          const { pendingEvents, ...task } = updated;
          await this.relay.flushQuietly(id, { pendingEvents, deletedAt: updated.deletedAt ?? null });
          return task as Task;
        }
        if (expected !== null) {
          const now = await TaskModel.findById(id, { version: 1 }).lean<Pick<Task, '_id' | 'version'>>();
          throw stale(now?.version ?? null);
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
    const parent = await TaskModel.findOne(live(id), { projectId: 1 }).lean<Pick<Task, '_id' | 'projectId'>>();
    if (!parent || parent.projectId !== projectId)
      throw new AppError(code, 'Invalid parentId: no such task in this project', { field: 'parentId' });
    return id;
  }
}

/**
 * A task's state as its events carry it: the task as the change left it (consumers such as
 * notifications and analytics keep what they need without reading tasks' collections).
 */
function stateOf(t: Task): Record<string, unknown> {
  return {
    title: t.title,
    status: t.status,
    priority: t.priority,
    assigneeId: t.assigneeId ?? null,
    reporterId: t.reporterId,
    dueDate: t.dueDate ?? null,
    labels: t.labels,
    position: t.position,
    version: t.version,
    parentId: t.parentId ?? null,
    completedAt: t.completedAt ?? null,
    createdAt: t.createdAt ?? null,
  };
}
