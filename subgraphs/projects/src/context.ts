import type { AuditLog, BaseContext } from '@tm/kit/infra';
import type { Loaders } from './loaders';
import type { MembershipService } from './membership/project-member.service';
import type { PermissionCache } from './membership/permission-cache';
import type { ProjectService } from './project/project.service';

export interface Services {
  projects: ProjectService;
  members: MembershipService;
  permissions: PermissionCache;
  audit: AuditLog;
}

export interface ProjectsContext extends BaseContext {
  services: Services;
  loaders: Loaders;
}

/** The signed-in actor, or AUTH-001. */
export function actor(ctx: ProjectsContext): { userId: string; correlationId: string } {
  return { userId: ctx.user.userId!, correlationId: ctx.correlationId };
}
