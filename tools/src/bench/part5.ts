import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Devstack } from '../devstack';
import { gql } from '../testing/graphql';
import { registerUser, startStack } from '../testing/stack';
import { BENCH_METRICS_TOKEN, BENCH_RATE_LIMIT_PER_MINUTE, metricSum, metricsText, scrape } from './procs';

/** Part 5: Project.metrics cost against the length of the project's history (same tasks, more changes). */
export interface Part5Row {
  changes: number;
  tasks: number;
  requests: number;
  p50: number;
  p99: number;
  /** Store commands of the analytics service per metrics request. */
  storeCommands: number;
  /** Store time of the analytics service per metrics request (ms). */
  storeMs: number;
}

export interface Part5Result {
  rows: Part5Row[];
  /** Events the read model applied per second while the projects were loaded. */
  ingestPerSecond: number;
  error?: string;
}

const METRICS_QUERY = `query Metrics($id: ID!) { project(id: $id) { metrics { totalTasks completedTasks completionRate overdueTasks averageCycleTimeHours
  throughput { date count } byStatus { status count } byAssignee { assignee { id } count open completed } } } }`;
const STATUSES = ['TODO', 'IN_PROGRESS', 'IN_REVIEW', 'DONE'];
const DAY = 86_400_000;

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/**
 * Two projects with the same tasks, one with 2 changes per task, one with 100× that (`--quick`:
 * 10×). The changes go on events:tasks exactly as the tasks service writes them (a state per
 * change, versions rising; the task walks the workflow back and forth over the last 30 days), the
 * analytics consumer applies them, then Project.metrics is asked through the gateway, the two
 * projects alternating.
 */
export async function part5(devstack: Devstack, opts: { quick: boolean; log: (l: string) => void }): Promise<Part5Result> {
  process.env.MONGO_URL = devstack.mongoUrl;
  process.env.REDIS_URL = devstack.redisUrl;
  const tasks = 100;
  const perTask = [2, opts.quick ? 20 : 200];
  const requests = opts.quick ? 40 : 200;
  const stack = await startStack('bench_analytics', ['users', 'projects', 'analytics'], {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    LANDING_PAGE: 'off',
    RATE_LIMIT_PER_MINUTE: BENCH_RATE_LIMIT_PER_MINUTE,
    ANALYTICS_POLL_MS: '50',
    METRICS_TOKEN: BENCH_METRICS_TOKEN,
  });
  const redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX });
  try {
    const url = stack.gateway.url;
    const analytics = stack.services.analytics!.base;
    const owner = await registerUser(url, 'Bench Analyst');
    const call = async (query: string, variables: Record<string, unknown>) => {
      const res = await gql<Record<string, unknown>>(url, query, variables, { token: owner.token });
      if (!res.data || res.errors?.length) throw new Error(JSON.stringify(res.errors ?? res.status));
      return res.data;
    };
    const projects: string[] = [];
    for (const n of perTask) {
      const d = await call('mutation($n: String!) { createProject(input: { name: $n }) { id } }', { n: `History ×${n}` });
      projects.push((d.createProject as { id: string }).id);
    }
    // the histories, written as the tasks service writes its events
    const started = Date.now();
    const now = Date.now();
    let total = 0;
    for (const [i, projectId] of projects.entries()) {
      const changes = perTask[i]!;
      for (let t = 0; t < tasks; t++) {
        const taskId = randomUUID();
        const pipeline = redis.pipeline();
        let status = 0;
        for (let v = 1; v <= changes; v++) {
          // forward to DONE, then back and forth; the last change leaves every third task DONE
          if (v > 1) status = v === changes ? (t % 3 === 0 ? 3 : 1) : status === 3 ? 2 : status + 1;
          const at = new Date(now - 29 * DAY + Math.floor(((v - 1) / changes) * 29 * DAY) + t * 1000);
          const event = {
            id: randomUUID(),
            type: v === 1 ? 'TaskCreated' : 'TaskMoved',
            at: at.toISOString(),
            actorId: owner.id,
            correlationId: null,
            payload: {
              taskId,
              projectId,
              version: v,
              state: {
                title: `Task ${t}`,
                status: STATUSES[status],
                priority: 'MEDIUM',
                assigneeId: t % 2 ? owner.id : null,
                dueDate: null,
                labels: [],
                position: t,
                version: v,
                completedAt: status === 3 ? at.toISOString() : null,
                createdAt: v === 1 ? null : new Date(now - 29 * DAY + t * 1000).toISOString(),
              },
            },
          };
          pipeline.xadd('events:tasks', '*', 'type', event.type, 'event', JSON.stringify(event));
          total++;
        }
        await pipeline.exec();
      }
    }
    opts.log(`analytics: ${total} task changes on events:tasks, waiting for the read model`);
    for (;;) {
      const [lag, pending] = await Promise.all([
        scrape(analytics, 'analytics_consumer_lag'),
        scrape(analytics, 'analytics_consumer_pending'),
      ]);
      if (lag === 0 && pending === 0) break;
      if (Date.now() - started > 30 * 60_000) throw new Error(`read model still ${lag} behind after 30 minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const ingestPerSecond = Math.round(total / ((Date.now() - started) / 1000));
    for (const p of projects) {
      const m = (await call(METRICS_QUERY, { id: p })).project as { metrics: { totalTasks: number } };
      if (m.metrics.totalTasks !== tasks)
        throw new Error(`project ${p}: ${m.metrics.totalTasks} tasks in the read model, ${tasks} expected`);
    }
    // warm-up, then alternate the projects request by request
    for (let i = 0; i < 10; i++) for (const p of projects) await call(METRICS_QUERY, { id: p });
    // both numbers from one scrape, so a scrape's own store work lands in a window the same way each time
    const storeCounters = async () => {
      const text = await metricsText(analytics);
      return {
        commands: metricSum(text, 'mongodb_commands_total'),
        seconds: metricSum(text, 'mongodb_command_duration_seconds_sum'),
      };
    };
    const times: number[][] = projects.map(() => []);
    const commands = projects.map(() => 0);
    const storeMs = projects.map(() => 0);
    for (let i = 0; i < requests; i++) {
      for (const [k, p] of projects.entries()) {
        const before = await storeCounters();
        const t0 = performance.now();
        await call(METRICS_QUERY, { id: p });
        times[k]!.push(performance.now() - t0);
        const after = await storeCounters();
        commands[k]! += after.commands - before.commands;
        storeMs[k]! += (after.seconds - before.seconds) * 1000;
      }
    }
    const rows = projects.map((_, k) => ({
      changes: perTask[k]! * tasks,
      tasks,
      requests,
      p50: percentile(times[k]!, 50),
      p99: percentile(times[k]!, 99),
      storeCommands: Math.round((commands[k]! / requests) * 10) / 10,
      storeMs: Math.round((storeMs[k]! / requests) * 10) / 10,
    }));
    return { rows, ingestPerSecond };
  } catch (err) {
    return { rows: [], ingestPerSecond: 0, error: (err as Error).message };
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}
