import 'reflect-metadata';
import {
  AuditLog,
  ConfigError,
  EventPublisher,
  Locks,
  OutboxRelay,
  PermissionsClient,
  RequestAccess,
  startSubgraph,
  type BaseConfig,
  type RunningService,
} from '@tm/kit';
import { z } from 'zod';
import { CommentCounts } from './comment/comment-count';
import { CommentModel, type Comment } from './comment/comment.model';
import { CommentService } from './comment/comment.service';
import type { Services, TasksContext } from './context';
import { createLoaders } from './loaders';
import { buildTasksSchema } from './schema';
import { TaskModel, type Task } from './task/task.model';
import { taskLock } from './task/task-lock';
import { TaskPages } from './task/task-pages';
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
    models: [TaskModel, CommentModel],
    buildSchema: buildTasksSchema,
    setup: (deps) => {
      const { redis, log, config } = deps;
      const publisher = new EventPublisher('tasks', redis, log);
      const locks = new Locks(redis);
      const taskRelay = new OutboxRelay<Task>(TaskModel as never, publisher, redis, log, locks, { lockOf: taskLock });
      const commentRelay = new OutboxRelay<Comment>(CommentModel as never, publisher, redis, log, locks, {
        // a comment is written once (created with its event) and otherwise only deleted, so the
        // relay is its only writer: one write per flush, by _id alone
        lockOf: (id) => `comment:${id}`,
      });
      const permissions = new PermissionsClient(redis, config.PROJECTS_URL, config.INTERNAL_SECRET, log);
      const pages = new TaskPages(redis, log);
      const counts = new CommentCounts(locks, pages, log);
      const tasks = new TaskService(taskRelay, permissions, config.REDIS_PREFIX, locks, pages, counts);
      const comments = new CommentService(commentRelay, config.REDIS_PREFIX, counts);
      const services: Services = {
        tasks,
        comments,
        permissions,
        queries: new TaskQueries(pages),
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
