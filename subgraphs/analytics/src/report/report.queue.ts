import { createQueueConnection, type Logger, type Metrics, type Redis, type RedisTarget, watchQueueDepth } from '@tm/kit/infra';
import { Queue, Worker } from 'bullmq';
import client from 'prom-client';
import type { ReportService } from './report.service';

export const REPORT_QUEUE = 'analytics-reports';

export interface ReportQueueOptions {
  /** Where Redis is (the service's Redis settings). */
  redisTarget: RedisTarget;
  /** The deployment's REDIS_PREFIX: the queue's keys live under `<prefix>bull:analytics-reports:…`. */
  prefix: string;
  concurrency: number;
  reports: ReportService;
  log: Logger;
  metrics: Metrics;
}

/**
 * Report production as a BullMQ job per report (id = the report job's id, so a report is queued
 * once), `concurrency` at once per process. A job whose process died is taken up again by
 * BullMQ's stalled-job check and starts its report over.
 */
export class ReportQueue {
  private readonly connection: Redis;
  private readonly queue: Queue;
  private worker: Worker | undefined;

  constructor(private readonly opts: ReportQueueOptions) {
    this.connection = createQueueConnection(opts.redisTarget, opts.log, 'report-queue');
    this.queue = new Queue(REPORT_QUEUE, { connection: this.connection, prefix: `${opts.prefix}bull` });
    this.queue.on('error', (err) => opts.log.debug({ err: err.message }, 'report queue error'));
    const reports = opts.reports;
    new client.Gauge({
      name: 'analytics_report_jobs',
      help: 'Report jobs by state (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, EXPIRED)',
      labelNames: ['state'],
      registers: [opts.metrics.registry],
      async collect() {
        const counts = await reports.countByState().catch(() => null);
        if (counts) for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    watchQueueDepth(opts.metrics.registry, REPORT_QUEUE, (...states) => this.queue.getJobCounts(...states));
  }

  start(): void {
    const o = this.opts;
    this.worker = new Worker(REPORT_QUEUE, (job) => o.reports.run(job.data.jobId as string), {
      connection: this.connection.duplicate(),
      prefix: `${o.prefix}bull`,
      concurrency: o.concurrency,
    });
    this.worker.on('error', (err) => o.log.debug({ err: err.message }, 'report worker error'));
  }

  async enqueue(jobId: string): Promise<void> {
    await this.queue.add('report', { jobId }, { jobId, removeOnComplete: true, removeOnFail: true });
  }

  /** Jobs waiting, running and delayed (readiness; the gateway's serviceHealth lists them). */
  async depth(): Promise<{ waiting: number; active: number; delayed: number }> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0 };
  }

  /** Removes a job still waiting (a running one is locked: it stops by itself on its cancel mark). */
  async remove(jobId: string): Promise<void> {
    await this.queue.remove(jobId);
  }

  async close(): Promise<void> {
    await this.worker?.close().catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    this.connection.disconnect();
  }
}
