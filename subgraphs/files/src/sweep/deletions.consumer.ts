import { type DomainEvent, eventStream, type Logger, type Metrics, type Redis, StreamConsumer } from '@tm/kit/infra';
import type { FileService } from '../file/file.service';

export const FILES_GROUP = 'files';
/** An event delivered to a files process that died before handling it is taken over after this long. */
const CLAIM_IDLE_MS = 30_000;

/**
 * Removes the files of deleted tasks (`TaskDeleted` on events:tasks) and deleted projects
 * (`ProjectDeleted` on events:projects) through the kit's stream consumer in the group `files`,
 * shared by every files process. Removing removed files does nothing, so a redelivery is harmless;
 * other event types are acknowledged unread. A failure is retried every round, never dropped.
 */
export class DeletionsConsumer extends StreamConsumer {
  constructor(
    redis: Redis,
    files: Pick<FileService, 'removeForTasks' | 'removeForProject'>,
    log: Logger,
    metrics?: Metrics,
    intervalMs = 1000,
  ) {
    const handle = async (event: DomainEvent, { stream }: { stream: string }) => {
      const actor = { userId: event.actorId, correlationId: event.correlationId };
      const { taskId, projectId } = event.payload as { taskId?: string; projectId?: string };
      let removed = 0;
      if (event.type === 'TaskDeleted' && taskId) removed = await files.removeForTasks([taskId], actor);
      if (event.type === 'ProjectDeleted' && projectId) removed = await files.removeForProject(projectId, actor);
      if (removed) log.info({ stream, removed, eventId: event.id }, 'files of deleted tasks/projects removed');
    };
    super(redis, log, {
      group: FILES_GROUP,
      streams: [eventStream('tasks'), eventStream('projects')],
      types: new Set(['TaskDeleted', 'ProjectDeleted']),
      handle,
      pollMs: intervalMs,
      readOnAfter: Infinity,
      claimIdleMs: CLAIM_IDLE_MS,
      batch: 200,
      ...(metrics ? { lagMetrics: { registry: metrics.registry, prefix: 'files' } } : {}),
    });
  }
}
