import type { FilesContext } from '../context';
import type { File } from './file.model';

/** `_entities` for File, batched; a file the viewer cannot see resolves to null. */
export const fileReference = {
  File: {
    __resolveReference: async (ref: { id: string }, ctx: FilesContext): Promise<File | null> => {
      const file = await ctx.loaders.file.load(ref.id);
      return file && (await ctx.access.of(file.projectId)) ? file : null;
    },
  },
};
