import { AppError, ErrorCode, type RequestAccess } from '@tm/kit/contracts';
import type { CurrentGeneration } from '../readmodel/readmodel.generation';
import { dayOf } from '../readmodel/task-fact.model';
import { STATUSES, type TaskStatus } from '../task/task.enums';

const DAY_MS = 86_400_000;
/** Throughput days when `from` is not given. */
export const DEFAULT_DAYS = 30;
export const MAX_DAYS = 366;

export interface MetricsRange {
  from?: Date | null;
  to?: Date | null;
}

export interface MetricsResult {
  from: Date | null;
  to: Date;
  totalTasks: number;
  completedTasks: number;
  completionRate: number;
  overdueTasks: number;
  averageCycleTimeHours: number | null;
  throughput: Array<{ date: string; count: number }>;
  byStatus: Array<{ status: TaskStatus; count: number }>;
  byAssignee: Array<{ assigneeId: string | null; count: number; open: number; completed: number }>;
}

interface FacetResult {
  byStatus: Array<{ _id: string; count: number }>;
  byAssignee: Array<{ _id: string | null; count: number; open: number; completed: number }>;
  overdue: Array<{ _id: null; n: number }>;
}

/** The UTC days from `from` to `to`, both included. */
export function daysBetween(from: Date, to: Date): string[] {
  const out: string[] = [];
  for (let t = Date.parse(dayOf(from)); t <= to.getTime(); t += DAY_MS) out.push(dayOf(new Date(t)));
  return out;
}

/**
 * Project metrics from the read model: one aggregation over the project's task facts (one per
 * task, however often it changed), one over the tasks completed in the range, and the range's
 * daily buckets. Each reads an index on (project, …); none reads events, so the cost does not grow
 * with the project's history.
 */
export class MetricsService {
  constructor(private readonly current: CurrentGeneration) {}

  /** Members (VIEWER or better) only: PERM-002 for anyone else. */
  async projectMetrics(access: RequestAccess, projectId: string, range: MetricsRange, now = new Date()): Promise<MetricsResult> {
    await access.require(projectId, 'VIEWER');
    return this.compute(projectId, range, now);
  }

  async compute(projectId: string, range: MetricsRange, now = new Date()): Promise<MetricsResult> {
    const to = range.to ?? now;
    const from = range.from ?? null;
    if (Number.isNaN(to.getTime()) || (from && Number.isNaN(from.getTime())))
      throw new AppError(ErrorCode.InvalidRequest, 'Invalid range', { field: 'from' });
    if (from && from > to) throw new AppError(ErrorCode.InvalidRequest, 'Invalid from: after to', { field: 'from' });
    const days = daysBetween(from ?? new Date(to.getTime() - (DEFAULT_DAYS - 1) * DAY_MS), to);
    if (days.length > MAX_DAYS)
      throw new AppError(ErrorCode.InvalidRequest, `Invalid from: at most ${MAX_DAYS} days of throughput`, { field: 'from' });
    const g = await this.current.get();
    const created = { $lte: to, ...(from ? { $gte: from } : {}) };
    const completedIn = { $lte: to, ...(from ? { $gte: from } : {}) };
    const isDone = { $eq: ['$status', 'DONE'] };
    const [facets, cycle, buckets] = await Promise.all([
      g.facts.aggregate<FacetResult>([
        { $match: { projectId, active: true, createdAt: created } },
        {
          $facet: {
            byStatus: [{ $group: { _id: '$status', count: { $sum: 1 } } }],
            byAssignee: [
              {
                $group: {
                  _id: '$assigneeId',
                  count: { $sum: 1 },
                  open: { $sum: { $cond: [isDone, 0, 1] } },
                  completed: { $sum: { $cond: [isDone, 1, 0] } },
                },
              },
            ],
            overdue: [
              { $match: { status: { $ne: 'DONE' }, dueDate: { $ne: null, $lt: now } } },
              { $group: { _id: null, n: { $sum: 1 } } },
            ],
          },
        },
      ]),
      g.facts.aggregate<{ _id: null; avgMs: number | null; n: number }>([
        { $match: { projectId, active: true, completedAt: completedIn, firstInProgressAt: { $ne: null } } },
        { $group: { _id: null, avgMs: { $avg: { $subtract: ['$completedAt', '$firstInProgressAt'] } }, n: { $sum: 1 } } },
      ]),
      g.buckets
        .find({ projectId, day: { $gte: days[0], $lte: days[days.length - 1] } }, { day: 1, completed: 1 })
        .lean<Array<{ day: string; completed: number }>>(),
    ]);
    const f = facets[0] ?? { byStatus: [], byAssignee: [], overdue: [] };
    const statusCount = new Map(f.byStatus.map((s) => [s._id, s.count]));
    const totalTasks = f.byStatus.reduce((n, s) => n + s.count, 0);
    const completedTasks = statusCount.get('DONE') ?? 0;
    const perDay = new Map(buckets.map((b) => [b.day, b.completed]));
    const avgMs = cycle[0]?.n ? cycle[0].avgMs : null;
    return {
      from,
      to,
      totalTasks,
      completedTasks,
      completionRate: totalTasks ? completedTasks / totalTasks : 0,
      overdueTasks: f.overdue[0]?.n ?? 0,
      averageCycleTimeHours: avgMs === null || avgMs === undefined ? null : avgMs / 3_600_000,
      throughput: days.map((date) => ({ date, count: perDay.get(date) ?? 0 })),
      byStatus: STATUSES.map((status) => ({ status, count: statusCount.get(status) ?? 0 })),
      byAssignee: f.byAssignee
        .map((a) => ({ assigneeId: a._id ?? null, count: a.count, open: a.open, completed: a.completed }))
        .sort((a, b) => b.count - a.count || String(a.assigneeId).localeCompare(String(b.assigneeId))),
    };
  }
}
