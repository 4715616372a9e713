import DataLoader from 'dataloader';
import type { CommentCounts } from './comment/comment-count.service';
import type { Comment } from './comment/comment.model';
import type { CommentService } from './comment/comment.service';
import type { Task } from './task/task.model';
import type { TaskService } from './task/task.service';

/**
 * Per-request batching: references, subtasks and comment counts cost one query each per tick; first
 * comment pages one query per task (each bounded by its page size), sent together.
 */
export function createLoaders(tasks: TaskService, comments: CommentService, counts: CommentCounts) {
  return {
    task: new DataLoader<string, Task | null>(async (ids) => {
      const byId = new Map((await tasks.byIds(ids)).map((t) => [t._id, t]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    subtasks: new DataLoader<string, Task[]>(async (parentIds) => {
      const all = await tasks.subtasksOf(parentIds);
      return parentIds.map((id) => all.filter((t) => t.parentId === id));
    }),
    /** Counted from the comments: only for tasks whose stored count is not known. */
    commentCount: new DataLoader<string, number>(async (taskIds) => {
      const found = await counts.countFor(taskIds);
      return taskIds.map((id) => found.get(id) ?? 0);
    }),
    /**
     * The first page of a task's comments, keyed by (task, page size): reads at most `limit + 1`
     * comments per task (one query per task, sent together), never all of them.
     */
    firstComments: new DataLoader<{ taskId: string; limit: number }, Comment[], string>((keys) => comments.firstPages(keys), {
      cacheKeyFn: (k) => `${k.limit}:${k.taskId}`,
    }),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
