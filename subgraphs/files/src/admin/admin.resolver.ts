import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { FilesContext } from '../context';
import { FileStatus } from '../file/file.enums';
import { File } from '../file/file.model';
import { FileScanStatus } from '../scan/scan.types';

/** The operations guide's file actions (ADMIN, audited). */
@Resolver()
export class FileAdminResolver {
  @Authorized('ADMIN')
  @Query(() => FileScanStatus, { description: 'ADMIN: the virus scanner (answers or not) and the scan queue depth' })
  fileScanStatus(@Ctx() ctx: FilesContext): Promise<FileScanStatus> {
    return ctx.services.audit.run(ctx, 'fileScanStatus', {}, () => ctx.services.scanStatus());
  }

  @Authorized('ADMIN')
  @Mutation(() => File, { description: 'ADMIN: sets the scan verdict by hand (CLEAN, INFECTED: quarantined, or FAILED)' })
  markFileScanned(
    @Arg('fileId', () => ID) fileId: string,
    @Arg('status', () => FileStatus) status: FileStatus,
    @Ctx() ctx: FilesContext,
  ): Promise<File> {
    return ctx.services.audit.run(ctx, 'markFileScanned', { fileId, status }, () =>
      ctx.services.files.markScanned({ userId: ctx.user.userId, correlationId: ctx.correlationId }, fileId, status),
    );
  }

  @Authorized('ADMIN')
  @Mutation(() => File, { description: 'ADMIN: scans the file again (a FAILED scan above all); SCANNING until the verdict' })
  rescanFile(@Arg('fileId', () => ID) fileId: string, @Ctx() ctx: FilesContext): Promise<File> {
    return ctx.services.audit.run(ctx, 'rescanFile', { fileId }, () =>
      ctx.services.files.rescan({ userId: ctx.user.userId, correlationId: ctx.correlationId }, fileId),
    );
  }
}
