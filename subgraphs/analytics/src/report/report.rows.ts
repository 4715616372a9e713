import type { TaskFact } from '../readmodel/task-fact.model';

/** Columns of a TASKS report, in order. */
export const TASK_COLUMNS = [
  'taskId',
  'title',
  'status',
  'priority',
  'assigneeId',
  'createdAt',
  'dueDate',
  'completedAt',
  'cycleTimeHours',
] as const;
export const THROUGHPUT_COLUMNS = ['date', 'completed'] as const;

export type Row = Record<string, string | number | null>;

export function taskRow(f: TaskFact): Row {
  const cycle =
    f.completedAt && f.firstInProgressAt ? (f.completedAt.getTime() - f.firstInProgressAt.getTime()) / 3_600_000 : null;
  return {
    taskId: f._id,
    title: f.title ?? '',
    status: f.status ?? '',
    priority: f.priority ?? '',
    assigneeId: f.assigneeId ?? null,
    createdAt: f.createdAt?.toISOString() ?? null,
    dueDate: f.dueDate?.toISOString() ?? null,
    completedAt: f.completedAt?.toISOString() ?? null,
    cycleTimeHours: cycle === null ? null : Math.round(cycle * 1000) / 1000,
  };
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a value a
 * spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe.
 */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (columns: readonly string[], row: Row) => `${columns.map((c) => csvField(row[c] ?? null)).join(',')}\r\n`;
