import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { AppError, assertId, ErrorCode, type RequestAccess } from '@tm/kit/contracts';
import { type Logger, type UserContext } from '@tm/kit/infra';
import type { Storage, UrlClaims } from '@tm/kit/storage';
import { daysBetween, DEFAULT_DAYS, MAX_DAYS } from '../metrics/metrics.service';
import type { CurrentGeneration } from '../readmodel/readmodel.generation';
import type { TaskFact } from '../readmodel/task-fact.model';
import { FINAL_STATES, LIVE_STATES, ReportFormat, ReportKind, ReportStatus } from './report.enums';
import { ReportJob, ReportJobModel } from './report-job.model';
import { csvLine, TASK_COLUMNS, taskRow, THROUGHPUT_COLUMNS, type Row } from './report.rows';

export interface ReportRequest {
  projectId: string;
  kind: ReportKind;
  format: ReportFormat;
  from?: Date | null;
  to?: Date | null;
}

export interface ReportSettings {
  ttlSeconds: number;
  urlTtlSeconds: number;
  rowsPerSecond: number;
  /** Reports one user may have queued or running at once. */
  maxActivePerUser: number;
  /** Finished jobs' records are removed this long after they finished. */
  keepJobsSeconds: number;
}

/** Where reports live in the storage: `reports/<jobId>.<csv|json>`. */
export const REPORTS_PREFIX = 'reports/';
const reportKey = (jobId: string, format: ReportFormat) =>
  `${REPORTS_PREFIX}${jobId}.${format === ReportFormat.CSV ? 'csv' : 'json'}`;
const contentTypeOf = (format: ReportFormat) =>
  format === ReportFormat.CSV ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8';

const DAY_MS = 86_400_000;
/** Progress is written (and a cancel looked for) every this many rows, and at least this often. */
const PROGRESS_EVERY_ROWS = 100;
const CANCEL_CHECK_MS = 200;
/** A report file or part without a job that needs it is removed after this long (a crash's leftovers). */
const ORPHAN_GRACE_MS = 60_000;

function notFound(): AppError {
  return new AppError(ErrorCode.NotFound, 'Report job not found or no access');
}

/** Thrown inside a running report when its job was cancelled. */
class Cancelled extends Error {
  override name = 'Cancelled';
}

/**
 * Reports: requested by a project member, produced by a queued job that streams the read model's
 * rows into the storage (the same adapters as the files service: a local directory or S3; never the
 * whole report in memory), where the object appears only once the stream ended well, and removed at
 * expiry. A cancel (ADMIN or the requester) is seen by the running job within CANCEL_CHECK_MS; the
 * job then fails its stream, so the storage keeps nothing of it (temp file removed, multipart upload
 * aborted).
 */
export class ReportService {
  /** Set by main: queues the job that produces a report. */
  enqueue: (jobId: string) => Promise<void> = async () => undefined;
  /** Set by main: removes a job still waiting in the queue. */
  dequeue: (jobId: string) => Promise<void> = async () => undefined;

  constructor(
    private readonly current: CurrentGeneration,
    private readonly storage: Storage,
    private readonly settings: ReportSettings,
    private readonly log: Logger,
  ) {}

  async request(access: RequestAccess, input: ReportRequest, now = new Date()): Promise<ReportJob> {
    const projectId = assertId(input.projectId, 'projectId');
    await access.require(projectId, 'VIEWER');
    const active = await ReportJobModel.countDocuments({ requesterId: access.userId, status: { $in: LIVE_STATES } });
    if (active >= this.settings.maxActivePerUser) {
      throw new AppError(
        ErrorCode.RateLimited,
        `At most ${this.settings.maxActivePerUser} reports queued or running at once: wait for one, or cancel one`,
        { retryAfter: 5 },
      );
    }
    const to = input.to ?? now;
    const from = input.from ?? null;
    if (Number.isNaN(to.getTime()) || (from && Number.isNaN(from.getTime())))
      throw new AppError(ErrorCode.InvalidRequest, 'Invalid range', { field: 'from' });
    if (from && from > to) throw new AppError(ErrorCode.InvalidRequest, 'Invalid from: after to', { field: 'from' });
    if (input.kind === ReportKind.THROUGHPUT && this.days(from, to).length > MAX_DAYS) {
      throw new AppError(ErrorCode.InvalidRequest, `Invalid from: at most ${MAX_DAYS} days`, { field: 'from' });
    }
    const doc = await ReportJobModel.create({
      _id: randomUUID(),
      projectId,
      requesterId: access.userId!,
      kind: input.kind,
      format: input.format,
      from,
      to,
      status: ReportStatus.QUEUED,
      progress: 0,
      rowCount: 0,
    });
    try {
      await this.enqueue(doc._id);
    } catch (err) {
      await ReportJobModel.updateOne(
        { _id: doc._id },
        { $set: { status: ReportStatus.FAILED, error: 'could not be queued', finishedAt: new Date() } },
      );
      throw err;
    }
    return doc.toObject();
  }

  /** The requester's job, or anyone's for an ADMIN; PERM-002 otherwise. */
  async get(viewer: UserContext, id: string): Promise<ReportJob> {
    assertId(id, 'id');
    const job = await ReportJobModel.findById(id).lean<ReportJob>();
    if (!job || !(job.requesterId === viewer.userId || viewer.roles.includes('ADMIN'))) throw notFound();
    return job;
  }

  /** A fresh download URL, made out to the viewer, while the report exists (COMPLETED, not expired). */
  async resultUrl(job: ReportJob, viewer: UserContext, now = Date.now()): Promise<string | null> {
    if (job.status !== ReportStatus.COMPLETED || !job.storageKey || !job.expiresAt || !viewer.userId) return null;
    const left = Math.floor((job.expiresAt.getTime() - now) / 1000);
    if (left < 1) return null;
    return this.storage.downloadUrl({
      key: job.storageKey,
      fileId: job._id,
      userId: viewer.userId,
      fileName: `report-${job._id}.${job.format === ReportFormat.CSV ? 'csv' : 'json'}`,
      contentType: contentTypeOf(job.format),
      expiresInSeconds: Math.min(this.settings.urlTtlSeconds, left),
    });
  }

  /**
   * Whether a download URL may be used now: its report still exists (COMPLETED, not expired; 410
   * otherwise) and its user may still see it (the requester, or an ADMIN it was made out to).
   */
  async checkDownload(claims: UrlClaims, now = Date.now()): Promise<void> {
    const job = await ReportJobModel.findById(claims.fileId).lean<ReportJob>();
    if (
      !job ||
      job.status !== ReportStatus.COMPLETED ||
      job.storageKey !== claims.key ||
      !job.expiresAt ||
      job.expiresAt.getTime() <= now
    )
      throw new AppError(ErrorCode.DownloadFailed, 'Download failed: the report is no longer available', { httpStatus: 410 });
  }

  /** ADMIN or the requester: a QUEUED or RUNNING job becomes CANCELLED (the runner stops and removes its part). */
  async cancel(viewer: UserContext, id: string): Promise<ReportJob> {
    const job = await this.get(viewer, id);
    const done = await ReportJobModel.findOneAndUpdate(
      { _id: job._id, status: { $in: LIVE_STATES } },
      { $set: { status: ReportStatus.CANCELLED, finishedAt: new Date() } },
      { returnDocument: 'after' },
    ).lean<ReportJob>();
    if (!done)
      throw new AppError(ErrorCode.InvalidRequest, `Invalid id: the job is ${job.status.toLowerCase()}, not queued or running`, {
        field: 'id',
        status: job.status,
      });
    await this.dequeue(job._id).catch(() => undefined); // a running job stops by itself
    return done;
  }

  /** Produces one report (the queue's worker calls it). */
  async run(jobId: string): Promise<void> {
    let job = await ReportJobModel.findOneAndUpdate(
      { _id: jobId, status: ReportStatus.QUEUED },
      { $set: { status: ReportStatus.RUNNING } },
      { returnDocument: 'after' },
    ).lean<ReportJob>();
    // a job taken up again after its process died is RUNNING already: start it over
    job ??= await ReportJobModel.findOne({ _id: jobId, status: ReportStatus.RUNNING }).lean<ReportJob>();
    if (!job) return; // cancelled before it started, or gone
    const key = reportKey(job._id, job.format);
    const out = new PassThrough();
    const stored = this.storage.writeStream(key, out, { contentType: contentTypeOf(job.format) });
    stored.catch(() => undefined); // awaited below; a failure seen first by the writer must not go unhandled
    let cancelled = false;
    const watch = setInterval(() => {
      void ReportJobModel.findById(jobId, { status: 1 })
        .lean<Pick<ReportJob, 'status'>>()
        .then((j) => {
          if (!j || j.status !== ReportStatus.RUNNING) cancelled = true;
        })
        .catch(() => undefined);
    }, CANCEL_CHECK_MS);
    try {
      const rows = await this.write(job, out, () => cancelled);
      out.end();
      await stored;
      const done = await ReportJobModel.updateOne(
        { _id: jobId, status: ReportStatus.RUNNING },
        {
          $set: {
            status: ReportStatus.COMPLETED,
            progress: 1,
            rowCount: rows,
            storageKey: key,
            finishedAt: new Date(),
            expiresAt: new Date(Date.now() + this.settings.ttlSeconds * 1000),
          },
        },
      );
      if (done.matchedCount === 0) await this.storage.delete(key); // cancelled at the last moment
    } catch (err) {
      // failing the stream makes the storage drop what it had (nothing partial remains)
      out.destroy(err instanceof Error ? err : new Error(String(err)));
      await stored.catch(() => undefined);
      if (err instanceof Cancelled) {
        this.log.info({ jobId }, 'report cancelled; nothing stored');
        return;
      }
      this.log.warn({ err, jobId }, 'report failed');
      await ReportJobModel.updateOne(
        { _id: jobId, status: ReportStatus.RUNNING },
        { $set: { status: ReportStatus.FAILED, error: 'the report could not be produced', finishedAt: new Date() } },
      );
    } finally {
      clearInterval(watch);
    }
  }

  private days(from: Date | null, to: Date): string[] {
    return daysBetween(from ?? new Date(to.getTime() - (DEFAULT_DAYS - 1) * DAY_MS), to);
  }

  /** Streams the rows (backpressure respected; at most `rowsPerSecond`); returns how many. */
  private async write(job: ReportJob, out: PassThrough, isCancelled: () => boolean): Promise<number> {
    const g = await this.current.get();
    const csv = job.format === ReportFormat.CSV;
    const columns = job.kind === ReportKind.TASKS ? TASK_COLUMNS : THROUGHPUT_COLUMNS;
    const started = Date.now();
    let rows = 0;
    let total = 1;
    const put = async (chunk: string) => {
      if (!out.write(chunk)) await once(out, 'drain');
    };
    const row = async (r: Row) => {
      if (isCancelled()) throw new Cancelled();
      await put(csv ? csvLine(columns, r) : `${rows ? ',\n' : '\n'}${JSON.stringify(r)}`);
      rows++;
      if (rows % PROGRESS_EVERY_ROWS === 0) {
        await ReportJobModel.updateOne(
          { _id: job._id, status: ReportStatus.RUNNING },
          { $set: { progress: Math.min(0.99, rows / total), rowCount: rows } },
        );
      }
      const rate = this.settings.rowsPerSecond;
      if (rate > 0) {
        const ahead = (rows / rate) * 1000 - (Date.now() - started);
        if (ahead > 20) await new Promise((r) => setTimeout(r, ahead));
      }
    };
    await put(csv ? `${columns.join(',')}\r\n` : '[');
    if (job.kind === ReportKind.TASKS) {
      const match = {
        projectId: job.projectId,
        active: true,
        createdAt: { $lte: job.to, ...(job.from ? { $gte: job.from } : {}) },
      };
      total = Math.max(1, await g.facts.countDocuments(match));
      const cursor = g.facts.find(match).sort({ createdAt: 1, _id: 1 }).lean<TaskFact[]>().cursor();
      try {
        for await (const f of cursor) await row(taskRow(f as unknown as TaskFact));
      } finally {
        await cursor.close();
      }
    } else {
      const days = this.days(job.from ?? null, job.to);
      total = days.length;
      const buckets = await g.buckets
        .find({ projectId: job.projectId, day: { $gte: days[0], $lte: days[days.length - 1] } }, { day: 1, completed: 1 })
        .lean<Array<{ day: string; completed: number }>>();
      const perDay = new Map(buckets.map((b) => [b.day, b.completed]));
      for (const date of days) await row({ date, completed: perDay.get(date) ?? 0 });
    }
    if (isCancelled()) throw new Cancelled();
    if (!csv) await put(rows ? '\n]\n' : ']\n');
    return rows;
  }

  /** Removes expired reports (EXPIRED) and files no job needs any more. */
  async sweep(now = new Date()): Promise<number> {
    let n = 0;
    const expired = await ReportJobModel.find({ status: ReportStatus.COMPLETED, expiresAt: { $lte: now } }, { storageKey: 1 })
      .limit(200)
      .lean<ReportJob[]>();
    for (const j of expired) {
      if (j.storageKey) await this.storage.delete(j.storageKey);
      await ReportJobModel.updateOne(
        { _id: j._id, status: ReportStatus.COMPLETED },
        { $set: { status: ReportStatus.EXPIRED, storageKey: null, finishedAt: now } },
      );
      n++;
    }
    const old = new Date(now.getTime() - this.settings.keepJobsSeconds * 1000);
    n += (await ReportJobModel.deleteMany({ status: { $in: FINAL_STATES }, finishedAt: { $lt: old } })).deletedCount;
    for await (const f of this.storage.list(REPORTS_PREFIX)) {
      if (now.getTime() - f.lastModified.getTime() < ORPHAN_GRACE_MS) continue;
      const jobId = f.key.slice(REPORTS_PREFIX.length, REPORTS_PREFIX.length + 36);
      const job = await ReportJobModel.findById(jobId, { status: 1, storageKey: 1 }).lean<ReportJob>();
      // a temp file of a running job (local storage) is still being written
      const needed =
        job?.status === ReportStatus.RUNNING
          ? f.key.endsWith('.part')
          : job?.status === ReportStatus.COMPLETED && job.storageKey === f.key;
      if (!needed) {
        await this.storage.delete(f.key);
        n++;
      }
    }
    return n;
  }

  /** Jobs by state (the `analytics_report_jobs` metric). */
  async countByState(): Promise<Record<string, number>> {
    const states = Object.values(ReportStatus);
    const counts = await Promise.all(states.map((status) => ReportJobModel.countDocuments({ status })));
    return Object.fromEntries(states.map((s, i) => [s, counts[i]!]));
  }
}
