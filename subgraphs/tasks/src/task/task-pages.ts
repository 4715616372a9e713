import { reviveDates, VersionedCache, type Connection, type Logger, type Redis } from '@tm/kit';
import type { Task } from './task.model';

/**
 * How long a page stays cached. Pages are exact on writes (versioned), so this bounds staleness only
 * when a write's `changed` could not reach Redis and the client did not retry (a failed `changed`
 * fails the request; a retry bumps the version). A page load on the test store decodes the whole
 * tasks collection (~2 s with 2,000 tasks): with 30 s and no refresh-ahead, readers waiting for the
 * loads after expiries were the board query's p99 in the bench.
 */
export const TASK_PAGE_TTL_MS = 120_000;
/** A page read in its last 30 s is reloaded in the background: a board in use never waits for a load after an expiry. */
const TASK_PAGE_REFRESH_AHEAD_MS = 30_000;
const DATE_FIELDS = ['dueDate', 'dueSort', 'completedAt', 'createdAt', 'updatedAt', 'deletedAt'];

/**
 * Pages of a project's tasks (`Project.tasks`), cached in Redis for a short time: on the test store
 * any query of tasks by project reads and decodes the whole tasks collection. Exact on writes
 * (VersionedCache): every write to a project's tasks calls `changed` before it answers or is
 * published, so no read after it gets a page from before it.
 */
export class TaskPages {
  private readonly cache: VersionedCache<Connection<Task>>;

  constructor(redis: Redis, log: Logger) {
    this.cache = new VersionedCache<Connection<Task>>(
      redis,
      'taskpages',
      {
        ttlMs: TASK_PAGE_TTL_MS,
        refreshAheadMs: TASK_PAGE_REFRESH_AHEAD_MS,
        revive: revivePage,
      },
      log,
    );
  }

  /** The page for these arguments (`shape`: everything that shapes it), cached or from `load`. */
  read(projectId: string, shape: Record<string, unknown>, load: () => Promise<Connection<Task>>): Promise<Connection<Task>> {
    return this.cache.read(projectId, load, shape);
  }

  /** After any write to the project's tasks (or their comment counts), before answering or publishing it. */
  changed(projectId: string): Promise<void> {
    return this.cache.changed(projectId);
  }
}

function revivePage(json: unknown): Connection<Task> {
  const page = json as Connection<Task>;
  for (const edge of page.edges) reviveDates(edge.node, DATE_FIELDS);
  return page;
}
