import { gql, type GqlResponse } from '@tm/tools/testing/graphql';
import type { TestUser } from '@tm/tools/testing/stack';

/** The data of a response, or a thrown error with its errors. */
export function data<T>(r: GqlResponse): T {
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data as T;
}

/** Polls `check` until it holds (generous bound: the machine may be busy); no fixed sleeps. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const as = (url: string, u: TestUser, q: string, v: Record<string, unknown> = {}) => gql(url, q, v, { token: u.token });

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
