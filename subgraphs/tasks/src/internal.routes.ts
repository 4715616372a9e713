import { isId, TASK_PROJECT_MAX_IDS, TASK_PROJECT_PATH } from '@tm/kit/contracts';
import { internalRoute, type RouteHandler } from '@tm/kit/infra';
import { TaskModel, type Task } from './task/task.model';

/** Every internal (service-to-service) route of tasks: signed requests of other services only, never clients. */
export function internalRoutes(secret: string): Record<string, RouteHandler> {
  return {
    /**
     * `GET /internal/task-project?ids=a,b,…`: the project of each live task among the ids (files
     * asks before it accepts an attachment); unknown and deleted tasks are simply absent.
     */
    [TASK_PROJECT_PATH]: internalRoute('tasks', secret, async (query) => {
      const ids = (query.get('ids') ?? '').split(',').filter(Boolean);
      if (ids.length === 0 || ids.length > TASK_PROJECT_MAX_IDS || !ids.every(isId)) return null;
      const tasks = await TaskModel.find(
        { _id: { $in: ids.map((id) => id.toLowerCase()) }, deletedAt: null },
        { projectId: 1 },
      ).lean<Array<Pick<Task, '_id' | 'projectId'>>>();
      return { tasks: tasks.map((t) => ({ id: t._id, projectId: t.projectId })) };
    }),
  };
}
