import type { TasksContext } from '../context';
import type { Task } from './task.model';

/** `_entities` for Task, batched; a task the viewer cannot see resolves to null. */
export const taskReference = {
  Task: {
    __resolveReference: async (ref: { id: string }, ctx: TasksContext): Promise<Task | null> => {
      const task = await ctx.loaders.task.load(ref.id);
      return task && (await ctx.access.of(task.projectId)) ? task : null;
    },
  },
};
