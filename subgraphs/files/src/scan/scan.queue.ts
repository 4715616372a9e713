import { createQueueConnection, type Logger, type Metrics, type Redis, type RedisTarget, watchQueueDepth } from '@tm/kit/infra';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import client from 'prom-client';
import type { Scanner } from './scanner.types';

export interface ScanQueueOptions {
  /** Where Redis is (the service's Redis settings). */
  redisTarget: RedisTarget;
  /** The deployment's REDIS_PREFIX: the queue's keys live under `<prefix>bull:files-scan:…`. */
  prefix: string;
  scanner: Scanner;
  scannerName: string;
  concurrency: number;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  /** While the scanner does not answer, how long a job waits before it looks again (no attempt used). */
  scannerRetryMs: number;
  /** Scans one file (reads it, asks the scanner, records the verdict). */
  scanFile: (fileId: string, scanner: Scanner) => Promise<void>;
  /** Every attempt failed (errors or timeouts while the scanner answered): the file is FAILED. */
  onExhausted: (fileId: string, reason: string) => Promise<void>;
  log: Logger;
  metrics: Metrics;
}

export const SCAN_QUEUE = 'files-scan';

class ScanTimeout extends Error {
  override name = 'ScanTimeout';
}

/**
 * Virus scanning as a BullMQ job per file: retried with exponential backoff, bounded by a timeout,
 * `concurrency` at once per process. While the scanner does not answer, a job is put back (its
 * attempts untouched) and the file stays SCANNING until the scanner is back.
 */
export class ScanQueue {
  private readonly connection: Redis;
  private readonly queue: Queue;
  private worker: Worker | undefined;
  private scannerUp = true;
  private readonly scans: client.Counter<'result'>;

  constructor(private readonly opts: ScanQueueOptions) {
    this.connection = createQueueConnection(opts.redisTarget, opts.log, 'scan-queue');
    this.queue = new Queue(SCAN_QUEUE, { connection: this.connection, prefix: `${opts.prefix}bull` });
    this.queue.on('error', (err) => opts.log.debug({ err: err.message }, 'scan queue error'));
    const registry = opts.metrics.registry;
    this.scans = new client.Counter({
      name: 'files_scans_total',
      help: 'Scan attempts by result',
      labelNames: ['result'],
      registers: [registry],
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const queue = this;
    new client.Gauge({
      name: 'files_scanner_up',
      help: 'The virus scanner answered its check at scrape time (1) or not (0)',
      labelNames: ['scanner'],
      registers: [registry],
      async collect() {
        this.set({ scanner: opts.scannerName }, (await queue.pingScanner()) ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'files_scan_queue_jobs',
      help: 'Scan jobs by state (waiting, active, delayed: backoff or waiting for the scanner)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const counts = await queue.depth().catch(() => null);
        if (counts) for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    watchQueueDepth(registry, SCAN_QUEUE, (...states) => this.queue.getJobCounts(...states));
  }

  /** Starts working on jobs (call once the store is connected). */
  start(): void {
    const o = this.opts;
    this.worker = new Worker(SCAN_QUEUE, (job, token) => this.process(job, token), {
      connection: this.connection.duplicate(),
      prefix: `${o.prefix}bull`,
      concurrency: o.concurrency,
      // a job whose process died is taken up again after this long
      stalledInterval: Math.max(o.timeoutMs * 2, 30_000),
    });
    this.worker.on('error', (err) => o.log.debug({ err: err.message }, 'scan worker error'));
    this.worker.on('failed', (job, err) => {
      if (!job || err instanceof DelayedError || err.name === 'DelayedError') return;
      const attempts = job.opts.attempts ?? 1;
      o.log.warn({ fileId: job.data.fileId, attempt: job.attemptsMade, attempts, reason: err.name }, 'scan attempt failed');
      if (job.attemptsMade >= attempts) {
        this.scans.inc({ result: 'exhausted' });
        void o
          .onExhausted(job.data.fileId as string, err.name === 'ScanTimeout' ? 'timeout' : 'error')
          .catch((e: unknown) => o.log.error({ err: e, fileId: job.data.fileId }, 'could not mark the scan failed'));
      }
    });
  }

  /** Queues a scan of the file; a scan of it already queued or running is kept (one per file). */
  async enqueue(fileId: string): Promise<void> {
    await this.queue.add(
      'scan',
      { fileId },
      {
        jobId: `scan-${fileId}`,
        attempts: this.opts.attempts,
        backoff: { type: 'exponential', delay: this.opts.backoffMs },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  /** Jobs waiting, running and delayed (backoff, or waiting for the scanner). */
  async depth(): Promise<{ waiting: number; active: number; delayed: number }> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0 };
  }

  async pingScanner(): Promise<boolean> {
    const up = await this.opts.scanner.ping().catch(() => false);
    if (up !== this.scannerUp)
      this.opts.log[up ? 'info' : 'warn']({ scanner: this.opts.scannerName }, up ? 'scanner is back' : 'scanner unavailable');
    this.scannerUp = up;
    return up;
  }

  private async process(job: Job, token?: string): Promise<void> {
    const fileId = job.data.fileId as string;
    const o = this.opts;
    if (!(await this.pingScanner())) return this.waitForScanner(job, token);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        o.scanFile(fileId, o.scanner),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new ScanTimeout(`scan took longer than ${o.timeoutMs} ms`)), o.timeoutMs);
        }),
      ]);
      this.scans.inc({ result: 'done' });
    } catch (err) {
      // the scanner went away during the scan: not the file's fault, keep the attempt
      if (!(await this.pingScanner())) return this.waitForScanner(job, token);
      this.scans.inc({ result: (err as Error).name === 'ScanTimeout' ? 'timeout' : 'error' });
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async waitForScanner(job: Job, token?: string): Promise<never> {
    this.scans.inc({ result: 'scanner_down' });
    await job.moveToDelayed(Date.now() + this.opts.scannerRetryMs, token);
    throw new DelayedError();
  }

  async close(): Promise<void> {
    await this.worker?.close().catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    this.connection.disconnect();
  }
}
