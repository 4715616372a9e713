import type { PermissionsClient, RequestAccess } from '@tm/kit/contracts';
import type { AuditLog, BaseContext, Redis } from '@tm/kit/infra';
import type { CommentService } from './comment/comment.service';
import type { Loaders } from './loaders';
import type { ActorWithAccess, TaskService } from './task/task.service';
import type { TaskQueries } from './task/task.query';

export interface Services {
  tasks: TaskService;
  queries: TaskQueries;
  comments: CommentService;
  permissions: PermissionsClient;
  audit: AuditLog;
  redis: Redis;
}

export interface TasksContext extends BaseContext {
  services: Services;
  loaders: Loaders;
  /** The caller's project memberships, fetched once per request. */
  access: RequestAccess;
}

export function actor(ctx: TasksContext): ActorWithAccess {
  return { userId: ctx.user.userId!, correlationId: ctx.correlationId, access: ctx.access };
}
