import type { PermissionsClient, RequestAccess } from '@tm/kit/contracts';
import type { AuditLog, BaseContext } from '@tm/kit/infra';
import type { ActorWithAccess, FileService } from './file/file.service';
import type { Loaders } from './loaders';
import type { FileScanStatus } from './scan/scan.types';

export interface Services {
  files: FileService;
  permissions: PermissionsClient;
  audit: AuditLog;
  /** The scanner and the scan queue, now. */
  scanStatus: () => Promise<FileScanStatus>;
}

export interface FilesContext extends BaseContext {
  services: Services;
  loaders: Loaders;
  /** The caller's project memberships, fetched once per request. */
  access: RequestAccess;
}

export function actor(ctx: FilesContext): ActorWithAccess {
  return { userId: ctx.user.userId!, correlationId: ctx.correlationId, access: ctx.access };
}
