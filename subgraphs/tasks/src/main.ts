import 'reflect-metadata';
import { PermissionsClient, RequestAccess } from '@tm/kit/contracts';
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
import { CommentCounts } from './comment/comment-count.service';
import { CommentModel, type Comment } from './comment/comment.model';
import { CommentService } from './comment/comment.service';
import type { Services, TasksContext } from './context';
import { internalRoutes } from './internal.routes';
import { createLoaders } from './loaders';
import { buildTasksSchema } from './schema';
import { BoardColumnModel } from './task/board.order';
import { TaskModel, type Task } from './task/task.model';
import { TaskQueries } from './task/task.query';
import { TaskService } from './task/task.service';

type TasksConfig = BaseConfig & { PROJECTS_URL: string; OUTBOX_SWEEP_MS: number; OUTBOX_IDLE_SWEEP_MS: number };

/** Starts the tasks subgraph (port 4003 unless TASKS_PORT/PORT say otherwise). */
export function start(env: NodeJS.ProcessEnv = process.env): Promise<RunningService<TasksConfig>> {
  return startSubgraph<TasksConfig, TasksContext>({
    name: 'tasks',
    defaultPort: 4003,
    env,
    configShape: {
      /** The projects subgraph, whose internal endpoint answers permission-cache misses. */
      PROJECTS_URL: z.string().url().default('http://127.0.0.1:4002/graphql'),
      OUTBOX_SWEEP_MS: z.coerce.number().int().min(100).default(2000),
      /** Sweeps while nothing of this process is left unsent (finds another process's crash leftovers). */
      OUTBOX_IDLE_SWEEP_MS: z.coerce.number().int().min(100).default(30_000),
    },
    models: [TaskModel, CommentModel, BoardColumnModel],
    buildSchema: buildTasksSchema,
    setup: (deps) => {
      const { redis, log, config } = deps;
      const publisher = new EventPublisher('tasks', redis, log, config.EVENTS_STREAM_MAXLEN);
      const taskRelay = new OutboxRelay<Task>(TaskModel as never, publisher, redis, log, deps.metrics);
      const commentRelay = new OutboxRelay<Comment>(CommentModel as never, publisher, redis, log, deps.metrics);
      const permissions = new PermissionsClient(redis, config.PROJECTS_URL, config.INTERNAL_SECRET, log, deps.metrics);
      const counts = new CommentCounts(log);
      const comments = new CommentService(commentRelay, config.REDIS_PREFIX, counts);
      const tasks = new TaskService(taskRelay, permissions, config.REDIS_PREFIX, counts, comments);
      const services: Services = {
        tasks,
        comments,
        permissions,
        queries: new TaskQueries(),
        audit: new AuditLog('tasks', redis, log),
        redis,
      };
      return {
        context: (base) => ({
          ...base,
          services,
          loaders: createLoaders(tasks, comments, counts),
          access: new RequestAccess(permissions, base.user.userId),
        }),
        routes: internalRoutes(config.INTERNAL_SECRET),
        onConnected: async () => {
          taskRelay.start(config.OUTBOX_SWEEP_MS, config.OUTBOX_IDLE_SWEEP_MS);
          commentRelay.start(config.OUTBOX_SWEEP_MS, config.OUTBOX_IDLE_SWEEP_MS);
          await counts.backfill();
        },
        onStop: () => Promise.all([taskRelay.stop(), commentRelay.stop()]),
      };
    },
  });
}

if (require.main === module) {
  start().catch((err: unknown) => {
    console.error(err instanceof ConfigError ? `tasks: ${err.message}` : err);
    process.exit(1);
  });
}
