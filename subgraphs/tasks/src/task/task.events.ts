import { liveChannel, pendingEvent, type PendingEvent } from '@tm/kit/infra';
import type { Task } from './task.model';
import type { TaskChangeKind } from './task.enums';

export interface Actor {
  userId: string;
  correlationId: string;
}

const TYPES: Record<`${TaskChangeKind}`, string> = {
  CREATED: 'TaskCreated',
  UPDATED: 'TaskUpdated',
  MOVED: 'TaskMoved',
  DELETED: 'TaskDeleted',
};

/**
 * The domain event (tasks stream) and live message (`taskChanged` of the project) of one change,
 * ready to be stored in the task's outbox by the same update.
 */
export function taskEvent(
  prefix: string,
  kind: `${TaskChangeKind}`,
  task: Pick<Task, '_id' | 'projectId'> & { version: number },
  actor: Actor,
  extra: Record<string, unknown> = {},
  type = TYPES[kind],
): PendingEvent {
  const at = new Date().toISOString();
  return pendingEvent(
    type,
    { taskId: task._id, projectId: task.projectId, version: task.version, ...extra },
    { actorId: actor.userId, correlationId: actor.correlationId },
    {
      channel: liveChannel(prefix, 'taskChanged', task.projectId),
      message: { kind, taskId: task._id, projectId: task.projectId, actorId: actor.userId, at },
    },
  );
}
