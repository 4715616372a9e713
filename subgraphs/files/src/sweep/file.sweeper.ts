import type { Logger, Metrics } from '@tm/kit/infra';
import client from 'prom-client';
import type { FileService } from '../file/file.service';
import type { Storage } from '@tm/kit/storage';
import { KEY_RE } from '../file/file.keys';

export interface SweepReport {
  expiredUploads: number;
  orphansRemoved: number;
  orphanKeys: string[];
  requeued: number;
  /** Projects whose quota counter was corrected. */
  usageCorrected: number;
}

/**
 * The files housekeeping, every `intervalMs`: pending uploads past their expiry are removed (record,
 * quota and bytes), files SCANNING for longer than `staleScanMs` are queued again; every
 * `orphanIntervalMs`, stored objects no live file uses (older than `orphanGraceMs`) are removed and
 * reported, and the projects' quota counters are checked against their files.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepReport> | undefined;
  private lastOrphanSweep = 0;
  private readonly orphans: client.Counter;
  private readonly expired: client.Counter;

  constructor(
    private readonly files: FileService,
    private readonly storage: Storage,
    private readonly log: Logger,
    metrics: Metrics,
    private readonly opts: { intervalMs: number; orphanIntervalMs: number; orphanGraceMs: number; staleScanMs: number },
  ) {
    this.orphans = new client.Counter({
      name: 'files_orphans_removed_total',
      help: 'Stored objects no file used, removed by the sweep',
      registers: [metrics.registry],
    });
    this.expired = new client.Counter({
      name: 'files_expired_uploads_total',
      help: 'Pending uploads removed after their URL expired',
      registers: [metrics.registry],
    });
  }

  start(): void {
    const tick = () => {
      void this.sweep()
        .catch((err: unknown) => this.log.warn({ err }, 'files sweep failed'))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.opts.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.opts.intervalMs).unref();
  }

  /** One sweep (one at a time; a call meanwhile waits for the running one). */
  sweep(): Promise<SweepReport> {
    this.running ??= this.sweepOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweepOnce(): Promise<SweepReport> {
    const expiredUploads = await this.files.sweepExpired();
    this.expired.inc(expiredUploads);
    // listing every stored object costs more (a bucket listing): on its own, longer interval
    let orphanKeys: string[] = [];
    let usageCorrected = 0;
    if (Date.now() - this.lastOrphanSweep >= this.opts.orphanIntervalMs) {
      orphanKeys = await this.removeOrphans();
      usageCorrected = await this.files.reconcileUsage();
      this.lastOrphanSweep = Date.now();
    }
    const requeued = await this.files.requeueStale(this.opts.staleScanMs);
    const report = { expiredUploads, orphansRemoved: orphanKeys.length, orphanKeys, requeued, usageCorrected };
    if (expiredUploads || orphanKeys.length || requeued || usageCorrected) {
      this.log.info(
        { expiredUploads, orphansRemoved: orphanKeys.length, orphanKeys: orphanKeys.slice(0, 50), requeued, usageCorrected },
        'files sweep',
      );
    }
    return report;
  }

  private async removeOrphans(): Promise<string[]> {
    const removed: string[] = [];
    const cutoff = Date.now() - this.opts.orphanGraceMs;
    for (const prefix of ['uploads/', 'files/', 'quarantine/']) {
      let batch: string[] = [];
      const flush = async () => {
        const used = await this.files.keysInUse(batch, Math.max(this.opts.orphanGraceMs, 60_000));
        for (const key of batch) {
          if (used.has(key)) continue;
          await this.storage.delete(key);
          removed.push(key);
          this.orphans.inc(); // counted as it goes: the metric never lags an object already gone
        }
        batch = [];
      };
      for await (const o of this.storage.list(prefix)) {
        if (!KEY_RE.test(o.key) || o.lastModified.getTime() > cutoff) continue;
        batch.push(o.key);
        if (batch.length >= 200) await flush();
      }
      if (batch.length) await flush();
    }
    return removed;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
