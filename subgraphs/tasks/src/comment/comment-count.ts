import { AppError, anyOf, type Locks, type Logger } from '@tm/kit';
import { findLiveTask, taskLock } from '../task/task-lock';
import type { TaskPages } from '../task/task-pages';
import { TaskModel, type Task } from '../task/task.model';
import { CommentModel } from './comment.model';

/**
 * `Task.commentCount`, the number of comments on a task, kept on the task so a board reads it
 * with the tasks (no count over the comments per page). Only a number is trusted; readers count
 * the comments themselves otherwise, so the field is never used when it could be wrong:
 * - absent: a task from before counts were kept (filled in by `backfill`);
 * - null: a comment is being added, or an add failed midway (recounted by the next add or `backfill`).
 *
 * Kept right without transactions: every comment is added under the task's lock (which every
 * writer of a task holds); the count is nulled before the insert and set after it, so a crash in
 * between leaves it unknown, not wrong.
 */
export class CommentCounts {
  constructor(
    private readonly locks: Locks,
    private readonly pages: TaskPages,
    private readonly log: Logger,
  ) {}

  /**
   * Runs `insert` (which adds at most one comment to the task; `added` says whether it did) with
   * the task's count kept right. Null when the task is gone (deleted meanwhile).
   */
  async adding<T>(taskId: string, insert: () => Promise<{ value: T; added: boolean }>): Promise<T | null> {
    return this.locks.with(taskLock(taskId), async () => {
      // the document as it was: its count is the base when it was known
      // `_id`-only filters (see findLiveTask): under the task's lock nobody else writes the task,
      // a delete included, so reading then writing by id is the conditional update
      const before = await findLiveTask(taskId, { projectId: 1, commentCount: 1, deletedAt: 1 });
      if (!before) return null;
      await TaskModel.updateOne({ _id: taskId }, { $set: { commentCount: null } });
      const known = typeof before.commentCount === 'number' ? before.commentCount : null;
      let result: { value: T; added: boolean };
      try {
        result = await insert();
      } catch (err) {
        // refused (nothing added): the count stands; any other failure leaves it unknown
        if (err instanceof AppError && known !== null) await this.store(taskId, known);
        throw err;
      }
      await this.store(taskId, known !== null ? known + (result.added ? 1 : 0) : await this.countLive(taskId));
      await this.pages.changed(before.projectId);
      return result.value;
    });
  }

  /** Counts a task's comments from the comments themselves and stores the result. */
  async recount(taskId: string): Promise<number> {
    return this.locks.with(taskLock(taskId), async () => {
      const count = await this.countLive(taskId);
      await this.store(taskId, count);
      return count;
    });
  }

  /** Comment counts of many tasks, from the comments (for tasks whose count is not known). */
  async countFor(taskIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await CommentModel.aggregate<{ _id: string; n: number }>([
      { $match: { taskId: anyOf(taskIds), deletedAt: null } },
      { $group: { _id: '$taskId', n: { $sum: 1 } } },
    ]);
    return new Map(rows.map((r) => [r._id, r.n]));
  }

  /**
   * Gives every live task without a count its count; run at start. Tasks from before counts were
   * kept get theirs from one pass over all comments (any comment added since is counted by its own
   * add, which takes the task out of this set); tasks left unknown are recounted one by one.
   * Returns how many were counted.
   */
  async backfill(): Promise<number> {
    const unknown = await TaskModel.find({ commentCount: null, deletedAt: null }, { commentCount: 1, projectId: 1 }).lean<
      Array<Pick<Task, '_id' | 'commentCount' | 'projectId'>>
    >();
    const legacy = unknown.filter((t) => !('commentCount' in t)).map((t) => t._id);
    const unsettled = unknown.filter((t) => 'commentCount' in t).map((t) => t._id);
    if (legacy.length) {
      const totals = await this.countAll();
      for (const id of legacy) {
        await this.locks.with(taskLock(id), () =>
          TaskModel.updateOne(
            { _id: id, commentCount: { $exists: false }, deletedAt: null },
            { $set: { commentCount: totals.get(id) ?? 0 } },
          ),
        );
      }
    }
    for (const id of unsettled) await this.recount(id);
    // pages cached meanwhile count these tasks' comments themselves (right, but slower): drop them
    for (const projectId of new Set(unknown.map((t) => t.projectId))) await this.pages.changed(projectId);
    if (unknown.length) this.log.info({ legacy: legacy.length, unsettled: unsettled.length }, 'comment counts backfilled');
    return unknown.length;
  }

  private async countAll(): Promise<Map<string, number>> {
    const rows = await CommentModel.aggregate<{ _id: string; n: number }>([
      { $match: { deletedAt: null } },
      { $group: { _id: '$taskId', n: { $sum: 1 } } },
    ]);
    return new Map(rows.map((r) => [r._id, r.n]));
  }

  private async store(taskId: string, count: number): Promise<void> {
    // always under the task's lock (see adding): `_id` alone
    await TaskModel.updateOne({ _id: taskId }, { $set: { commentCount: count } });
  }

  private async countLive(taskId: string): Promise<number> {
    return (await this.countFor([taskId])).get(taskId) ?? 0;
  }
}
