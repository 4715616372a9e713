import { internalGet } from '../infra/internal';
import type { Logger } from '../infra/logger';

/** Where the tasks subgraph answers which project a task belongs to (signed, internal). */
export const TASK_PROJECT_PATH = '/internal/task-project';
/** Task ids one `TASK_PROJECT_PATH` request may ask about. */
export const TASK_PROJECT_MAX_IDS = 100;

/**
 * Asks the tasks subgraph, the owner of tasks, which project each task belongs to (its signed
 * internal endpoint). A deleted or unknown task is absent from the answer. Files uses it before it
 * accepts an attachment, so a file is always filed under the project that decides who sees it.
 */
export class TaskDirectory {
  constructor(
    private readonly tasksUrl: string,
    private readonly secret: string,
    private readonly log: Logger,
  ) {}

  /** taskId → projectId of the live tasks among `taskIds`; `SYS-002` (service tasks) when tasks cannot answer. */
  async projectsOf(taskIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < taskIds.length; i += TASK_PROJECT_MAX_IDS) {
      const ids = taskIds.slice(i, i + TASK_PROJECT_MAX_IDS);
      const res = await internalGet<{ tasks: Array<{ id: string; projectId: string }> }>(
        this.tasksUrl,
        `${TASK_PROJECT_PATH}?ids=${ids.map(encodeURIComponent).join(',')}`,
        this.secret,
        'tasks',
        this.log,
      );
      for (const t of res.tasks) out.set(t.id, t.projectId);
    }
    return out;
  }
}
