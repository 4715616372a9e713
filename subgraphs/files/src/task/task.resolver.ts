import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { FilesContext } from '../context';
import { File } from '../file/file.model';
import { TaskRef } from './task.ref';

@Resolver(() => TaskRef)
export class TaskAttachmentsResolver {
  @FieldResolver(() => [File], { description: 'Files attached to the task (uploads not yet complete left out), oldest first' })
  async attachments(@Root() task: TaskRef, @Ctx() ctx: FilesContext): Promise<File[]> {
    const files = await ctx.loaders.attachments.load(task.id);
    // the task resolved for this viewer, but the files decide by their own project
    const visible = await Promise.all(files.map(async (f) => ((await ctx.access.of(f.projectId)) ? f : null)));
    return visible.filter((f): f is File => f !== null);
  }
}

export const taskReference = {
  Task: { __resolveReference: (ref: { id: string }): TaskRef => ({ id: ref.id }) },
};
