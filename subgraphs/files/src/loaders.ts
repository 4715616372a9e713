import DataLoader from 'dataloader';
import type { File } from './file/file.model';
import type { FileService } from './file/file.service';

/** Per-request batching: `Task.attachments` of a whole page of tasks is one query, and so are references. */
export function createLoaders(files: FileService) {
  return {
    file: new DataLoader<string, File | null>(async (ids) => {
      const byId = new Map((await files.byIds(ids)).map((f) => [f._id, f]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    attachments: new DataLoader<string, File[]>(async (taskIds) => {
      const all = await files.attachmentsOf(taskIds);
      return taskIds.map((id) => all.filter((f) => f.taskId === id));
    }),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
