import type { AuditLog, BaseContext } from '@tm/kit/infra';
import type { Loaders } from './loaders';
import type { ProjectMemberService } from './project-member/project-member.service';
import type { PermissionCache } from './project-member/permission.cache';
import type { ProjectService } from './project/project.service';

export interface Services {
  projects: ProjectService;
  members: ProjectMemberService;
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
