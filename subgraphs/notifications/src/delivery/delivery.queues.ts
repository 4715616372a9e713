import { createQueueConnection, type Logger, type Metrics, type Redis, type RedisTarget, watchQueueDepth } from '@tm/kit/infra';
import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import client from 'prom-client';
import type { DeliveryChannel } from '../notification/notification.enums';

export const QUEUE_NAMES = ['email', 'push', 'notifications-schedule'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
const STATES = ['waiting', 'active', 'failed', 'delayed', 'completed'] as const;
export type QueueCounts = Record<(typeof STATES)[number], number>;

export interface QueueOptions {
  /** Where Redis is (the service's Redis settings). */
  redisTarget: RedisTarget;
  /** The deployment's REDIS_PREFIX: queues live under `<prefix>bull:<name>:…`. */
  prefix: string;
  attempts: number;
  backoffMs: number;
  concurrency: number;
  log: Logger;
  metrics: Metrics;
}

export type Handler = (job: Job) => Promise<unknown>;

/**
 * The BullMQ queues: `email` and `push` (one job per notification and channel, its id derived from
 * the notification so queuing twice queues once; exponential backoff, `attempts` tries, then the
 * failed set that `retryFailedNotifications` re-queues) and `notifications-schedule` (due-soon and
 * digest as repeatable jobs, broadcasts).
 */
export class DeliveryQueues {
  private readonly connection: Redis;
  readonly queues: Record<QueueName, Queue>;
  private readonly workers: Worker[] = [];
  private readonly workerConnections: Redis[] = [];

  constructor(private readonly opts: QueueOptions) {
    this.connection = createQueueConnection(opts.redisTarget, opts.log, 'notification-queues');
    const defaultJobOptions: JobsOptions = {
      attempts: opts.attempts,
      backoff: { type: 'exponential', delay: opts.backoffMs },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 14 * 24 * 3600 },
    };
    const make = (name: QueueName) => {
      const q = new Queue(name, { connection: this.connection, prefix: `${opts.prefix}bull`, defaultJobOptions });
      q.on('error', (err) => opts.log.debug({ err: err.message, queue: name }, 'queue error'));
      return q;
    };
    this.queues = { email: make('email'), push: make('push'), 'notifications-schedule': make('notifications-schedule') };
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new client.Gauge({
      name: 'notification_queue_jobs',
      help: 'Notification jobs by queue and state (waiting, active, failed, delayed, completed)',
      labelNames: ['queue', 'state'],
      registers: [opts.metrics.registry],
      async collect() {
        const all = await self.stats().catch(() => []);
        for (const s of all) for (const state of STATES) this.set({ queue: s.name, state }, s[state]);
      },
    });
    for (const name of QUEUE_NAMES)
      watchQueueDepth(opts.metrics.registry, name, (...states) => this.queues[name].getJobCounts(...states));
  }

  add(queue: QueueName, name: string, data: Record<string, unknown>, opts: JobsOptions = {}): Promise<unknown> {
    return this.queues[queue].add(name, data, opts);
  }

  /** Starts the workers (call once the store is connected). */
  start(handlers: Record<QueueName, Handler>): void {
    for (const name of QUEUE_NAMES) {
      const connection = this.connection.duplicate();
      this.workerConnections.push(connection);
      const worker = new Worker(name, handlers[name], {
        connection,
        prefix: `${this.opts.prefix}bull`,
        concurrency: name === 'notifications-schedule' ? 1 : this.opts.concurrency,
      });
      worker.on('failed', (job, err) =>
        this.opts.log.warn(
          { queue: name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message },
          'notification job failed',
        ),
      );
      worker.on('error', (err) => this.opts.log.debug({ err: err.message, queue: name }, 'worker error'));
      this.workers.push(worker);
    }
  }

  async stats(): Promise<Array<{ name: string } & QueueCounts>> {
    return Promise.all(
      QUEUE_NAMES.map(async (name) => {
        const c = await this.queues[name].getJobCounts(...STATES);
        return {
          name,
          waiting: c.waiting ?? 0,
          active: c.active ?? 0,
          failed: c.failed ?? 0,
          delayed: c.delayed ?? 0,
          completed: c.completed ?? 0,
        };
      }),
    );
  }

  /** Re-queues the channel's jobs that failed for good within the last `sinceMinutes`; how many. */
  async retryFailed(channel: DeliveryChannel, sinceMinutes: number): Promise<number> {
    const since = Date.now() - sinceMinutes * 60_000;
    const queue = this.queues[channel];
    // read first: a retried job leaves the failed set (paging while retrying would skip some)
    const jobs = (await queue.getFailed(0, 49_999)).filter((j) => (j.finishedOn ?? 0) >= since);
    let n = 0;
    for (const job of jobs) {
      await job.retry('failed', { resetAttemptsMade: true });
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all(Object.values(this.queues).map((q) => q.close()));
    for (const c of this.workerConnections) c.disconnect();
    this.connection.disconnect();
  }
}
