import { anyOf, type Logger } from '@tm/kit/infra';
import { TaskModel, type Task } from '../task/task.model';
import { CommentModel } from './comment.model';

/** Tasks counted per query by `backfill`. */
const BACKFILL_BATCH = 200;

/**
 * `Task.commentCount`, the number of comments on a task, kept on the task so a board reads it
 * with the tasks (no count over the comments per page). Each new comment adds one with `$inc`
 * (single-document atomic, so concurrent adds are all counted, with no lock); a retried add of a
 * comment that already exists adds nothing. Only a number is trusted: readers count the comments
 * of a task without one (tasks from before counts were kept, until `backfill` fills them in).
 *
 * Without transactions, a process dying between a comment's insert and its `$inc` leaves the count
 * one short; `recount` (ADMIN `synchronizeEntity`) repairs it from the comments.
 */
export class CommentCounts {
  constructor(private readonly log: Logger) {}

  /**
   * After a comment was inserted: counts it. False when the task is gone (deleted meanwhile).
   * A task whose count is not known is left so (readers count it).
   */
  async added(taskId: string): Promise<boolean> {
    // `$gte: 0` matches numbers only (not null nor absent: `$inc` would make those look known)
    const counted = await TaskModel.updateOne(
      { _id: taskId, deletedAt: null, commentCount: { $gte: 0 } },
      { $inc: { commentCount: 1 } },
    );
    if (counted.matchedCount === 1) return true;
    return (await TaskModel.exists({ _id: taskId, deletedAt: null })) !== null;
  }

  /**
   * Counts a task's comments from the comments themselves and stores the result (a repair: a
   * comment added while it runs may be counted twice or not at all, as with any recount).
   */
  async recount(taskId: string): Promise<number> {
    const count = (await this.countFor([taskId])).get(taskId) ?? 0;
    await TaskModel.updateOne({ _id: taskId, deletedAt: null }, { $set: { commentCount: count } });
    return count;
  }

  /** Comment counts of many tasks, from the comments (for tasks whose count is not known). */
  async countFor(taskIds: readonly string[]): Promise<Map<string, number>> {
    if (taskIds.length === 0) return new Map();
    const rows = await CommentModel.aggregate<{ _id: string; n: number }>([
      { $match: { taskId: anyOf(taskIds), deletedAt: null } },
      { $group: { _id: '$taskId', n: { $sum: 1 } } },
    ]);
    return new Map(rows.map((r) => [r._id, r.n]));
  }

  /**
   * Gives every live task without a count its count; run at start. Only sets a count that is
   * still missing (an add never counts a task without one, so nothing is counted twice).
   * Returns how many tasks were counted.
   */
  async backfill(): Promise<number> {
    const unknown = await TaskModel.find({ commentCount: null, deletedAt: null }, { _id: 1 }).lean<Array<Pick<Task, '_id'>>>();
    for (let i = 0; i < unknown.length; i += BACKFILL_BATCH) {
      const ids = unknown.slice(i, i + BACKFILL_BATCH).map((t) => t._id);
      const totals = await this.countFor(ids);
      await TaskModel.bulkWrite(
        ids.map((id) => ({
          updateOne: {
            filter: { _id: id, commentCount: null, deletedAt: null },
            update: { $set: { commentCount: totals.get(id) ?? 0 } },
          },
        })),
        { ordered: false },
      );
    }
    if (unknown.length) this.log.info({ counted: unknown.length }, 'comment counts backfilled');
    return unknown.length;
  }
}
