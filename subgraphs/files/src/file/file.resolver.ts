import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { actor, type FilesContext } from '../context';
import { TaskRef } from '../task/task.ref';
import { UserRef } from '../user/user.ref';
import { FileUpload, RequestFileUploadInput } from './file.inputs';
import { File } from './file.model';

@Resolver(() => File)
export class FileResolver {
  @Authorized()
  @Query(() => File, {
    nullable: true,
    description: "A file of a task you can see (VIEWER or better of the task's project; PERM-002 otherwise)",
  })
  file(@Arg('id', () => ID) id: string, @Ctx() ctx: FilesContext): Promise<File> {
    return ctx.services.files.visible(ctx.access, id);
  }

  @FieldResolver(() => TaskRef, { nullable: true })
  task(@Root() file: File): TaskRef {
    return { id: file.taskId };
  }

  @FieldResolver(() => UserRef)
  uploadedBy(@Root() file: File): UserRef {
    return { id: file.uploadedById };
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'A short-lived URL to GET the bytes (default 5 minutes); null unless CLEAN',
  })
  downloadUrl(@Root() file: File, @Ctx() ctx: FilesContext): Promise<string | null> {
    return ctx.services.files.downloadUrl(file, ctx.user.userId);
  }

  @Authorized()
  @Mutation(() => FileUpload, {
    description:
      'MEMBER or better. Records the file (PENDING_UPLOAD) and returns a short-lived URL to PUT its bytes to. FILE-001 on a bad name, size, type or a full quota',
  })
  async requestFileUpload(
    @Arg('input', () => RequestFileUploadInput) input: RequestFileUploadInput,
    @Ctx() ctx: FilesContext,
  ): Promise<FileUpload> {
    return ctx.services.files.requestUpload(actor(ctx), input);
  }

  @Authorized()
  @Mutation(() => File, {
    description:
      'The uploader, once the bytes are PUT: checks size and content (FILE-001, upload removed) and starts the virus scan',
  })
  completeFileUpload(@Arg('fileId', () => ID) fileId: string, @Ctx() ctx: FilesContext): Promise<File> {
    return ctx.services.files.complete(actor(ctx), fileId);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'MEMBER or better: removes the file and its bytes' })
  deleteFile(@Arg('fileId', () => ID) fileId: string, @Ctx() ctx: FilesContext): Promise<boolean> {
    return ctx.services.files.delete(actor(ctx), fileId);
  }
}
