import { randomBytes } from 'node:crypto';
import type { Generation } from '../src/readmodel/readmodel.generation';

export { as, data } from '@tm/tools/testing/graphql';
export { waitFor } from '@tm/tools/testing/wait';

export const METRICS = `query($p: ID!, $from: DateTime, $to: DateTime) { project(id: $p) { id metrics(from: $from, to: $to) {
  from to totalTasks completedTasks completionRate overdueTasks averageCycleTimeHours
  throughput { date count } byStatus { status count } byAssignee { assignee { id } count open completed } } } }`;

export interface Metrics {
  totalTasks: number;
  completedTasks: number;
  completionRate: number;
  overdueTasks: number;
  averageCycleTimeHours: number | null;
  throughput: Array<{ date: string; count: number }>;
  byStatus: Array<{ status: string; count: number }>;
  byAssignee: Array<{ assignee: { id: string } | null; count: number; open: number; completed: number }>;
}

export const WORKLOAD = `query($u: ID!) { user(id: $u) { id workload { openTasks overdueTasks completedLast7Days } } }`;
export const REPORT = `query($id: ID!) { reportJob(id: $id) { id status progress rowCount resultUrl expiresAt error kind format project { id } requestedBy { id } } }`;
export const REQUEST_REPORT = `mutation($i: ReportInput!) { requestReport(input: $i) { id status progress } }`;

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** A read-model generation's facts and non-empty buckets, comparable across generations and replays. */
export async function snapshot(g: Generation) {
  const facts = await g.facts.find({}, { dirtyDays: 0, dirty: 0 }).sort({ _id: 1 }).lean();
  const buckets = (await g.buckets.find({}).sort({ _id: 1 }).lean()).filter((b) => b.completed > 0);
  return { facts, buckets };
}

/** A uniformly shuffled copy (Fisher–Yates over crypto random numbers). */
export function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomBytes(4).readUInt32BE(0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
