import { liveChannel, pendingEvent, type PendingEvent } from '@tm/kit/infra';
import type { File } from './file.model';

export interface Actor {
  userId: string | null;
  correlationId: string | null;
}

/** What happens to a file, on `events:files`. */
export type FileEventType = 'FileUploaded' | 'FileScanned' | 'FileInfected' | 'FileDeleted';

/**
 * The domain event (files stream) of one change, with a live `taskChanged` UPDATED for the file's
 * task (so a board shows the new, scanned or removed attachment), stored in the file's outbox by
 * the same update.
 */
export function fileEvent(
  prefix: string,
  type: FileEventType,
  file: Pick<File, '_id' | 'taskId' | 'projectId' | 'uploadedById' | 'name' | 'size' | 'contentType'>,
  actor: Actor,
  extra: Record<string, unknown> = {},
  /** Also a live `taskChanged` (not when the task itself is gone). */
  live = true,
): PendingEvent {
  return pendingEvent(
    type,
    {
      fileId: file._id,
      taskId: file.taskId,
      projectId: file.projectId,
      uploadedById: file.uploadedById,
      size: file.size,
      contentType: file.contentType,
      ...extra,
    },
    { actorId: actor.userId, correlationId: actor.correlationId },
    live
      ? {
          channel: liveChannel(prefix, 'taskChanged', file.projectId),
          message: {
            kind: 'UPDATED',
            taskId: file.taskId,
            projectId: file.projectId,
            actorId: actor.userId ?? file.uploadedById,
            at: new Date().toISOString(),
            fields: ['attachments'],
          },
        }
      : undefined,
  );
}
