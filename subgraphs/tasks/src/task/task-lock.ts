import { TaskModel, type Task } from './task.model';

/**
 * The lock every writer of one task document holds (Locks in the kit): the test store rewrites a
 * whole document on any update, so two concurrent updates of one task, even of different fields,
 * would lose one of them there.
 */
export const taskLock = (taskId: string): string => `task:${taskId}`;

/**
 * A task that is not deleted, by id, read with a filter of `_id` alone: the test store (FerretDB
 * 1.24 on SQLite) looks a document up by its key only for a filter that is exactly `{ _id }`; any
 * other filter (even `{ _id, deletedAt: null }`) reads and decodes the whole collection, which
 * made every write slower as a project grew (addComment p50 3 s at 200 tasks under 8 writers).
 * `projection` must be an exclusion (or include `deletedAt`).
 */
export async function findLiveTask<T extends Partial<Task> = Task>(
  id: string,
  projection?: Record<string, 0 | 1>,
): Promise<T | null> {
  const task = await TaskModel.findById(id, projection).lean<T & Pick<Task, 'deletedAt'>>();
  return task && !task.deletedAt ? task : null;
}
