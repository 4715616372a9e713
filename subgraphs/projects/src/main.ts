import 'reflect-metadata';
import { UserDirectory } from '@tm/kit/contracts';
import {
  AuditLog,
  type BaseConfig,
  ConfigError,
  EventPublisher,
  OutboxRelay,
  type RunningService,
  startSubgraph,
} from '@tm/kit/infra';
import { z } from 'zod';
import type { ProjectsContext, Services } from './context';
import { internalRoutes } from './internal.routes';
import { createLoaders } from './loaders';
import { PermissionCache } from './project-member/permission.cache';
import { ProjectMemberModel, type ProjectMember } from './project-member/project-member.model';
import { ProjectMemberService } from './project-member/project-member.service';
import { ProjectEvents } from './project/project.events';
import { ProjectModel, type Project } from './project/project.model';
import { ProjectService } from './project/project.service';
import { buildProjectsSchema } from './schema';

type ProjectsConfig = BaseConfig & { OUTBOX_SWEEP_MS: number; OUTBOX_IDLE_SWEEP_MS: number; USERS_URL: string };

/** Starts the projects subgraph (port 4002 unless PROJECTS_PORT/PORT say otherwise). */
export function start(env: NodeJS.ProcessEnv = process.env): Promise<RunningService<ProjectsConfig>> {
  return startSubgraph<ProjectsConfig, ProjectsContext>({
    name: 'projects',
    defaultPort: 4002,
    env,
    configShape: {
      OUTBOX_SWEEP_MS: z.coerce.number().int().min(100).default(2000),
      /** Sweeps while nothing of this process is left unsent (finds another process's crash leftovers). */
      OUTBOX_IDLE_SWEEP_MS: z.coerce.number().int().min(100).default(30_000),
      /** The users subgraph: asked whether an account exists before it becomes a member. */
      USERS_URL: z.string().url().default('http://127.0.0.1:4001/graphql'),
    },
    models: [ProjectModel, ProjectMemberModel],
    buildSchema: buildProjectsSchema,
    setup: (deps) => {
      const { redis, log, config } = deps;
      const publisher = new EventPublisher('projects', redis, log, config.EVENTS_STREAM_MAXLEN);
      const projectRelay = new OutboxRelay<Project>(ProjectModel as never, publisher, redis, log, deps.metrics);
      const memberRelay = new OutboxRelay<ProjectMember>(ProjectMemberModel as never, publisher, redis, log, deps.metrics);
      const events = new ProjectEvents(config.REDIS_PREFIX);
      const permissions = new PermissionCache(redis, log);
      const projects = new ProjectService(events, projectRelay, permissions);
      const directory = new UserDirectory(config.USERS_URL, config.INTERNAL_SECRET, log);
      const members = new ProjectMemberService(events, memberRelay, permissions, directory);
      const services: Services = { projects, members, permissions, audit: new AuditLog('projects', redis, log) };
      return {
        context: (base) => ({ ...base, services, loaders: createLoaders(projects, members, base.user.userId) }),
        routes: internalRoutes(permissions, config.INTERNAL_SECRET),
        onConnected: async () => {
          projectRelay.start(config.OUTBOX_SWEEP_MS, config.OUTBOX_IDLE_SWEEP_MS);
          memberRelay.start(config.OUTBOX_SWEEP_MS, config.OUTBOX_IDLE_SWEEP_MS);
        },
        onStop: () => Promise.all([projectRelay.stop(), memberRelay.stop()]),
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
