import { type Connection, decodeTypedCursor, encodeCursor, forwardPage, pageSize, type RequestAccess } from '@tm/kit/contracts';
import { TASK_PROJECTION } from './task.service';
import { Task, TaskModel } from './task.model';
import { SortDirection, TaskOrderField, TaskStatus } from './task.enums';

export interface TaskFilterArgs {
  status?: TaskStatus[] | null;
  assigneeId?: string | null;
  dueBefore?: Date | null;
  labels?: string[] | null;
}

export interface TaskOrderArgs {
  field: TaskOrderField;
  direction: SortDirection;
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** What of a connection to read: its edges, its total, or both. */
export interface Wanted {
  edges: boolean;
  totalCount: boolean;
}

const SORT_KEY: Record<TaskOrderField, { path: keyof Task; date: boolean }> = {
  POSITION: { path: 'position', date: false },
  CREATED_AT: { path: 'createdAt', date: true },
  UPDATED_AT: { path: 'updatedAt', date: true },
  DUE_DATE: { path: 'dueSort', date: true },
  PRIORITY: { path: 'priorityRank', date: false },
};

function mongoFilter(base: Record<string, unknown>, f: TaskFilterArgs | null | undefined): Record<string, unknown> {
  const q: Record<string, unknown> = { ...base, deletedAt: null };
  if (f?.status?.length) q.status = { $in: f.status };
  if (f?.assigneeId) q.assigneeId = f.assigneeId;
  if (f?.dueBefore) q.dueDate = { $lt: f.dueBefore };
  if (f?.labels?.length) q.labels = { $all: f.labels };
  return q;
}

/**
 * A Relay page of tasks by keyset on (sort key, id): cursors stay valid when tasks are added
 * before or after them. Reads the count and the rows only when they are selected.
 */
async function page(
  filter: Record<string, unknown>,
  order: TaskOrderArgs,
  args: PageArgs,
  wanted: Wanted,
): Promise<Connection<Task>> {
  const limit = pageSize(args.first);
  const key = SORT_KEY[order.field];
  const dir = order.direction === SortDirection.DESC ? -1 : 1;
  const pageFilter = { ...filter };
  if (args.after) {
    // typed: a value of the wrong type (an object, `{"$gt": …}`) is API-002, never part of the filter
    const [value, id] = key.date
      ? decodeTypedCursor(args.after, ['date', 'string'] as const)
      : decodeTypedCursor(args.after, ['number', 'string'] as const);
    const cmp = dir === 1 ? '$gt' : '$lt';
    pageFilter.$or = [{ [key.path]: { [cmp]: value } }, { [key.path]: value, _id: { [cmp]: id } }];
  }
  const [rows, totalCount] = await Promise.all([
    wanted.edges
      ? TaskModel.find(pageFilter, TASK_PROJECTION)
          .sort({ [key.path]: dir, _id: dir })
          .limit(limit + 1)
          // the whole page in the first batch: no extra getMore round trip when the page is full
          .batchSize(limit + 1)
          .lean<Task[]>()
      : Promise.resolve([] as Task[]),
    wanted.totalCount ? TaskModel.countDocuments(filter) : Promise.resolve(0),
  ]);
  const cursorOf = (t: Task) => {
    const v = t[key.path] as unknown;
    return encodeCursor([v instanceof Date ? v.toISOString() : v, t._id]);
  };
  return forwardPage(rows, limit, cursorOf, totalCount, Boolean(args.after));
}

/** Lists behind `Project.tasks` and `User.assignedTasks`. */
export class TaskQueries {
  /** A project's tasks; the caller needs VIEWER or better (PERM-002 otherwise). */
  async forProject(
    access: RequestAccess,
    projectId: string,
    filter: TaskFilterArgs | null | undefined,
    order: TaskOrderArgs,
    args: PageArgs,
    wanted: Wanted,
  ): Promise<Connection<Task>> {
    await access.require(projectId, 'VIEWER');
    return page(mongoFilter({ projectId }, filter), order, args, wanted);
  }

  /** Tasks assigned to a user, in the projects the caller can see. */
  async forAssignee(
    access: RequestAccess,
    assigneeId: string,
    filter: TaskFilterArgs | null | undefined,
    args: PageArgs,
    wanted: Wanted,
  ): Promise<Connection<Task>> {
    const visible = await access.visibleProjectIds();
    const base = { assigneeId, projectId: { $in: visible } };
    const order = { field: TaskOrderField.DUE_DATE, direction: SortDirection.ASC };
    return page(mongoFilter(base, { ...filter, assigneeId: undefined }), order, args, wanted);
  }
}
