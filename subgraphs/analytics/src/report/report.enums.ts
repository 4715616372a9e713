import { registerEnumType } from 'type-graphql';

export enum ReportStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
  EXPIRED = 'EXPIRED',
}
registerEnumType(ReportStatus, {
  name: 'ReportStatus',
  description: 'QUEUED → RUNNING → COMPLETED (→ EXPIRED), or FAILED / CANCELLED',
});

export enum ReportFormat {
  CSV = 'CSV',
  JSON = 'JSON',
}
registerEnumType(ReportFormat, { name: 'ReportFormat' });

export enum ReportKind {
  /** A row per task of the project created in the range (its current facts). */
  TASKS = 'TASKS',
  /** A row per UTC day of the range: tasks completed that day. */
  THROUGHPUT = 'THROUGHPUT',
}
registerEnumType(ReportKind, {
  name: 'ReportKind',
  valuesConfig: {
    TASKS: { description: 'A row per task created in the range: id, title, status, priority, assignee, dates, cycle time' },
    THROUGHPUT: { description: 'A row per UTC day of the range: tasks completed that day' },
  },
});

/** States a job can still leave (cancel applies to these). */
export const LIVE_STATES = [ReportStatus.QUEUED, ReportStatus.RUNNING];

/** States a job never leaves (their records are removed after a while). */
export const FINAL_STATES = [ReportStatus.FAILED, ReportStatus.CANCELLED, ReportStatus.EXPIRED];
