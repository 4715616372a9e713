import 'reflect-metadata';
import { AuditLog, ConfigError, EventPublisher, LivePublisher, Locks, startSubgraph, type BaseConfig, type RunningService } from '@tm/kit';
import type { ProjectsContext, Services } from './context';
import { permissionsRoute } from './internal';
import { createLoaders } from './loaders';
import { MemberLists } from './membership/member-lists';
import { MembershipService } from './membership/membership.service';
import { PermissionCache } from './membership/permission-cache';
import { ProjectMemberModel } from './membership/project-member.model';
import { ProjectEvents } from './project/project-events';
import { ProjectModel } from './project/project.model';
import { ProjectService } from './project/project.service';
import { buildProjectsSchema } from './schema';

/** Starts the projects subgraph (port 4002 unless PROJECTS_PORT/PORT say otherwise). */
export function start(env: NodeJS.ProcessEnv = process.env): Promise<RunningService<BaseConfig>> {
  return startSubgraph<BaseConfig, ProjectsContext>({
    name: 'projects',
    defaultPort: 4002,
    env,
    models: [ProjectModel, ProjectMemberModel],
    buildSchema: buildProjectsSchema,
    setup: (deps) => {
      const events = new ProjectEvents(
        new EventPublisher('projects', deps.redis, deps.log),
        new LivePublisher(deps.redis, deps.config.REDIS_PREFIX, deps.log),
      );
      const permissions = new PermissionCache(deps.redis, deps.log);
      const lists = new MemberLists(deps.redis, deps.log);
      const projects = new ProjectService(events, permissions, lists);
      const members = new MembershipService(events, permissions, new Locks(deps.redis), lists);
      const services: Services = { projects, members, permissions, audit: new AuditLog('projects', deps.redis, deps.log) };
      return {
        context: (base) => ({ ...base, services, loaders: createLoaders(projects, members, base.user.userId) }),
        routes: permissionsRoute(permissions, deps.config.INTERNAL_SECRET),
      };
    },
  });
}

if (require.main === module) {
  start().catch((err: unknown) => {
    console.error(err instanceof ConfigError ? `projects: ${err.message}` : err);
    process.exit(1);
  });
}
