import { randomUUID } from 'node:crypto';
import { AppError, assertId, ErrorCode, isDuplicateKeyError, type RequestAccess, type TaskDirectory } from '@tm/kit/contracts';
import { type Logger, type OutboxRelay } from '@tm/kit/infra';
import { fromBuffer } from 'file-type';
import type { Scanner } from '../scan/scanner.types';
import type { Storage } from '@tm/kit/storage';
import { fileKey, quarantineKey, uploadKey } from './file.keys';
import { FileStatus } from './file.enums';
import { fileEvent, type Actor, type FileEventType } from './file.events';
import { FILE_PROJECTION, FileModel, type File } from './file.model';
import { contentMismatch, fileRules } from './file.rules';
import { ProjectUsageModel } from './project-usage.model';

export interface FileLimits {
  maxBytes: number;
  allowedTypes: readonly string[];
  projectQuotaBytes: number;
  uploadUrlTtlSeconds: number;
  downloadUrlTtlSeconds: number;
}

export interface UploadDraft {
  taskId: string;
  name: string;
  size: number;
  contentType: string;
}

export interface ActorWithAccess extends Actor {
  userId: string;
  access: RequestAccess;
}

/** Bytes read from the start of an upload to sniff its type. */
const SNIFF_BYTES = 4100;
const live = (id: string) => ({ _id: id, deletedAt: null });

const notFound = () => new AppError(ErrorCode.NotFound, 'File not found or no access');

/**
 * Files: upload requests (validated, within the project's quota), completion (real size and
 * content checked against what was declared), scan verdicts, downloads and deletion. Every change
 * stores its event in the file's outbox in the same update.
 */
export class FileService {
  constructor(
    private readonly storage: Storage,
    private readonly relay: OutboxRelay<File>,
    private readonly tasks: Pick<TaskDirectory, 'projectsOf'>,
    private readonly limits: FileLimits,
    private readonly prefix: string,
    private readonly log: Logger,
    /** Queues a scan (ScanQueue.enqueue); set once the queue exists. */
    public enqueueScan: (fileId: string) => Promise<void> = async () => undefined,
  ) {}

  /** MEMBER or better of the task's project: records PENDING_UPLOAD and returns where to PUT the bytes. */
  async requestUpload(actor: ActorWithAccess, draft: UploadDraft): Promise<{ file: File; uploadUrl: string; expiresAt: Date }> {
    const taskId = assertId(draft.taskId, 'taskId');
    const name = fileRules.name(draft.name);
    const size = fileRules.size(draft.size, this.limits.maxBytes);
    const contentType = fileRules.contentType(draft.contentType, this.limits.allowedTypes);
    const projectId = (await this.tasks.projectsOf([taskId])).get(taskId);
    if (!projectId) throw new AppError(ErrorCode.NotFound, 'Task not found or no access');
    await actor.access.require(projectId, 'MEMBER', { write: true });
    await this.reserve(projectId, size);
    const id = randomUUID();
    const expiresAt = new Date(Date.now() + this.limits.uploadUrlTtlSeconds * 1000);
    let file: File;
    try {
      const doc = await FileModel.create({
        _id: id,
        name,
        size,
        contentType,
        taskId,
        projectId,
        uploadedById: actor.userId,
        status: FileStatus.PENDING_UPLOAD,
        uploadKey: uploadKey(projectId, id),
        key: fileKey(projectId, id),
        expiresAt,
        deletedAt: null,
        pendingEvents: [],
        hasPending: false,
      });
      file = doc.toObject() as File;
    } catch (err) {
      await this.release(projectId, size);
      throw err;
    }
    const uploadUrl = await this.storage.uploadUrl({
      key: file.uploadKey,
      fileId: id,
      contentType,
      size,
      expiresInSeconds: this.limits.uploadUrlTtlSeconds,
    });
    return { file, uploadUrl, expiresAt };
  }

  /**
   * The uploader says the bytes are there: checks the stored object (present, not larger than
   * declared, content sniffed as the declared type), moves it out of the upload key and starts
   * the scan. Anything off is FILE-001 with the reason; the object and the record are removed.
   * Completing a file that is already past PENDING_UPLOAD returns it as it is (safe retries).
   */
  async complete(actor: ActorWithAccess, fileId: string): Promise<File> {
    const file = await this.visible(actor.access, fileId);
    await actor.access.require(file.projectId, 'MEMBER', { write: true });
    if (file.uploadedById !== actor.userId) throw new AppError(ErrorCode.Forbidden, 'Only the uploader can complete an upload');
    if (file.status !== FileStatus.PENDING_UPLOAD) return file;
    if (file.expiresAt && file.expiresAt.getTime() <= Date.now()) {
      await this.refuse(file, actor);
      throw new AppError(ErrorCode.UploadRefused, 'Upload refused: the upload URL has expired; request a new one', {
        field: 'fileId',
      });
    }
    const object = await this.storage.stat(file.uploadKey);
    if (!object) throw new AppError(ErrorCode.UploadRefused, 'Upload refused: nothing was uploaded yet', { field: 'fileId' });
    let problem: string | null = null;
    if (object.size > file.size) problem = `the upload has ${object.size} bytes, more than the declared ${file.size}`;
    else if (object.size === 0) problem = 'the upload is empty';
    else {
      const head = await this.storage.readHead(file.uploadKey, SNIFF_BYTES);
      problem = contentMismatch(file.contentType, (await fromBuffer(head))?.mime, head);
    }
    if (problem) {
      await this.refuse(file, actor);
      throw new AppError(ErrorCode.UploadRefused, `Upload refused: ${problem}`, { field: 'fileId' });
    }
    try {
      await this.storage.move(file.uploadKey, file.key, { fileName: file.name, contentType: file.contentType });
    } catch (err) {
      // a concurrent completion moved it first: answer with its outcome
      const now = await this.visible(actor.access, fileId);
      if (now.status !== FileStatus.PENDING_UPLOAD) return now;
      throw err;
    }
    const sized = { ...file, size: object.size };
    const updated = await FileModel.findOneAndUpdate(
      { ...live(file._id), status: FileStatus.PENDING_UPLOAD },
      {
        $set: { status: FileStatus.SCANNING, size: object.size, expiresAt: null, hasPending: true },
        $push: { pendingEvents: fileEvent(this.prefix, 'FileUploaded', sized, actor) },
      },
      { returnDocument: 'after', projection: FILE_PROJECTION },
    ).lean<File>();
    if (!updated) return this.visible(actor.access, fileId); // completed (or deleted) meanwhile
    if (object.size !== file.size) await this.release(file.projectId, file.size - object.size);
    await this.relay.flushQuietly(file._id);
    await this.enqueueQuietly(file._id);
    return updated;
  }

  /** MEMBER or better: removes the file and its stored bytes. */
  async delete(actor: ActorWithAccess, fileId: string): Promise<boolean> {
    const file = await this.visible(actor.access, fileId);
    await actor.access.require(file.projectId, 'MEMBER', { write: true });
    await this.remove(file, actor);
    return true;
  }

  /** A file the caller may see (VIEWER or better of its project), else PERM-002. */
  async visible(access: RequestAccess, fileId: string): Promise<File> {
    const id = assertId(fileId, 'fileId');
    const file = await FileModel.findOne(live(id), FILE_PROJECTION).lean<File>();
    if (!file || !(await access.of(file.projectId))) throw notFound();
    return file;
  }

  /** The attachments of these tasks (uploads not yet complete left out), one query. */
  async attachmentsOf(taskIds: readonly string[]): Promise<File[]> {
    return FileModel.find(
      { taskId: { $in: [...taskIds] }, deletedAt: null, status: { $ne: FileStatus.PENDING_UPLOAD } },
      FILE_PROJECTION,
    )
      .sort({ createdAt: 1, _id: 1 })
      .lean<File[]>();
  }

  byIds(ids: readonly string[]): Promise<File[]> {
    return FileModel.find({ _id: { $in: [...ids] }, deletedAt: null }, FILE_PROJECTION).lean<File[]>();
  }

  /** A download URL for a CLEAN file, issued to `userId`; null otherwise. */
  async downloadUrl(file: File, userId: string | null): Promise<string | null> {
    if (file.status !== FileStatus.CLEAN || !userId) return null;
    return this.storage.downloadUrl({
      key: file.key,
      fileId: file._id,
      userId,
      fileName: file.name,
      contentType: file.contentType,
      expiresInSeconds: this.limits.downloadUrlTtlSeconds,
    });
  }

  /** Whether a download of `fileId` by `userId` may go ahead now (the local storage's URLs ask on every use). */
  async checkDownload(
    fileId: string,
    userId: string,
    key: string,
    access: (projectId: string) => Promise<boolean>,
  ): Promise<void> {
    const file = await FileModel.findOne(live(fileId), { status: 1, projectId: 1, key: 1 }).lean<File>();
    if (!file || !(await access(file.projectId)))
      throw new AppError(ErrorCode.DownloadFailed, 'Download failed: no such file or no access');
    if (file.status === FileStatus.INFECTED) throw new AppError(ErrorCode.VirusDetected, 'The file is infected and quarantined');
    if (file.key !== key)
      throw new AppError(ErrorCode.DownloadFailed, 'Download failed: the file has changed; ask for a new URL');
    if (file.status !== FileStatus.CLEAN)
      throw new AppError(ErrorCode.DownloadFailed, 'Download failed: the file is not available yet');
    void userId;
  }

  /** Whether an upload to this file's URL may still happen. */
  async checkUpload(fileId: string): Promise<void> {
    const file = await FileModel.findOne(live(fileId), { status: 1, expiresAt: 1 }).lean<File>();
    if (!file || file.status !== FileStatus.PENDING_UPLOAD) {
      throw new AppError(ErrorCode.UploadRefused, 'Upload refused: the file is not waiting for an upload');
    }
  }

  /** Scan job: reads the stored bytes and records the scanner's verdict (no-op unless SCANNING). */
  async scan(fileId: string, scanner: Scanner): Promise<void> {
    const file = await FileModel.findOne({ ...live(fileId), status: FileStatus.SCANNING }, FILE_PROJECTION).lean<File>();
    if (!file) return;
    const stream = await this.storage.read(file.key);
    let verdict: { infected: boolean; signature?: string };
    try {
      verdict = await scanner.scan(stream);
    } finally {
      (stream as unknown as { destroy?: () => void }).destroy?.();
    }
    const system: Actor = { userId: null, correlationId: null };
    await this.record(file, verdict.infected ? FileStatus.INFECTED : FileStatus.CLEAN, system, verdict.signature ?? null, [
      FileStatus.SCANNING,
    ]);
  }

  /** Every scan attempt failed: FAILED (rescanFile tries again). */
  async scanFailed(fileId: string, reason: string): Promise<void> {
    const file = await FileModel.findOne({ ...live(fileId), status: FileStatus.SCANNING }, FILE_PROJECTION).lean<File>();
    if (file) await this.record(file, FileStatus.FAILED, { userId: null, correlationId: null }, reason, [FileStatus.SCANNING]);
  }

  /** ADMIN: sets the scan verdict by hand (a false positive, a file checked elsewhere). */
  async markScanned(actor: Actor, fileId: string, status: FileStatus): Promise<File> {
    const id = assertId(fileId, 'fileId');
    if (![FileStatus.CLEAN, FileStatus.INFECTED, FileStatus.FAILED].includes(status)) {
      throw new AppError(ErrorCode.InvalidRequest, 'Invalid status: CLEAN, INFECTED or FAILED', { field: 'status' });
    }
    const file = await FileModel.findOne(live(id), FILE_PROJECTION).lean<File>();
    if (!file) throw new AppError(ErrorCode.NotFound, 'File not found');
    if (file.status === FileStatus.PENDING_UPLOAD)
      throw new AppError(ErrorCode.InvalidRequest, 'The upload is not complete', { field: 'fileId' });
    return (await this.record(file, status, actor, 'marked by an administrator', [file.status])) ?? (await this.byIdOrFail(id));
  }

  /** ADMIN: scans the file again (FAILED ones above all); it is SCANNING until the verdict. */
  async rescan(actor: Actor, fileId: string): Promise<File> {
    const id = assertId(fileId, 'fileId');
    const file = await FileModel.findOne(live(id), FILE_PROJECTION).lean<File>();
    if (!file) throw new AppError(ErrorCode.NotFound, 'File not found');
    if (file.status === FileStatus.PENDING_UPLOAD)
      throw new AppError(ErrorCode.InvalidRequest, 'The upload is not complete', { field: 'fileId' });
    const updated = await FileModel.findOneAndUpdate(
      { ...live(id), status: file.status },
      { $set: { status: FileStatus.SCANNING, scanResult: null } },
      { returnDocument: 'after', projection: FILE_PROJECTION },
    ).lean<File>();
    if (!updated) throw new AppError(ErrorCode.InvalidRequest, 'The file changed meanwhile, try again');
    void actor;
    await this.enqueueScan(id);
    return updated;
  }

  /** Re-queues files SCANNING for longer than `olderThanMs` (a queue lost, a crash between steps); a queued one is kept. */
  async requeueStale(olderThanMs: number): Promise<number> {
    const stale = await FileModel.find(
      { status: FileStatus.SCANNING, deletedAt: null, updatedAt: { $lt: new Date(Date.now() - olderThanMs) } },
      { _id: 1 },
    )
      .limit(500)
      .lean<Array<Pick<File, '_id'>>>();
    for (const f of stale) await this.enqueueQuietly(f._id);
    return stale.length;
  }

  /** Pending uploads whose URL expired: record, reservation and any bytes removed. */
  async sweepExpired(): Promise<number> {
    const expired = await FileModel.find(
      { status: FileStatus.PENDING_UPLOAD, deletedAt: null, expiresAt: { $lt: new Date() } },
      FILE_PROJECTION,
    )
      .limit(500)
      .lean<File[]>();
    let n = 0;
    for (const f of expired) if (await this.removeQuietly(f, { userId: null, correlationId: null }, false)) n++;
    return n;
  }

  /** Every file of these tasks (deleted tasks), bytes included. */
  async removeForTasks(taskIds: readonly string[], actor: Actor): Promise<number> {
    const files = await FileModel.find({ taskId: { $in: [...taskIds] }, deletedAt: null }, FILE_PROJECTION).lean<File[]>();
    let n = 0;
    for (const f of files) if (await this.removeQuietly(f, actor, true, false)) n++;
    return n;
  }

  /** Every file of a project (a deleted project), bytes included. */
  async removeForProject(projectId: string, actor: Actor): Promise<number> {
    let n = 0;
    for (;;) {
      const files = await FileModel.find({ projectId, deletedAt: null }, FILE_PROJECTION).limit(200).lean<File[]>();
      if (files.length === 0) return n;
      for (const f of files) if (await this.removeQuietly(f, actor, true, false)) n++;
    }
  }

  /**
   * The stored keys among `keys` that a live file uses (the orphan sweep keeps them): its file and
   * quarantine keys, and its upload key while it is pending or changed within `graceMs` (a
   * completion or a verdict moves bytes before it records the move).
   */
  async keysInUse(keys: readonly string[], graceMs: number): Promise<Set<string>> {
    const ids = [...new Set(keys.map((k) => k.split('/')[2]).filter((id): id is string => !!id))];
    const files = await FileModel.find(
      { _id: { $in: ids }, deletedAt: null },
      { uploadKey: 1, key: 1, status: 1, projectId: 1, updatedAt: 1 },
    ).lean<File[]>();
    const used = new Set<string>();
    const recent = Date.now() - graceMs;
    for (const f of files) {
      used.add(f.key).add(fileKey(f.projectId, f._id)).add(quarantineKey(f.projectId, f._id));
      if (f.status === FileStatus.PENDING_UPLOAD || f.updatedAt.getTime() > recent) used.add(f.uploadKey);
    }
    return used;
  }

  /** Per project, the (counter, sum) disagreement seen by the last reconciliation. */
  private usageDrift = new Map<string, string>();

  /**
   * Sets each project's quota counter to the sum of its files' sizes where the two disagree in two
   * reconciliations in a row with the same numbers (a disagreement of the moment, a reservation
   * whose record is being written, passes by itself). A crash between reserving and recording, or
   * between removing and giving back, is repaired this way. Returns the projects corrected.
   */
  async reconcileUsage(): Promise<number> {
    const sums = await FileModel.aggregate<{ _id: string; bytes: number }>([
      { $match: { deletedAt: null } },
      { $group: { _id: '$projectId', bytes: { $sum: '$size' } } },
    ]);
    const sumOf = new Map(sums.map((x) => [x._id, x.bytes]));
    const counters = await ProjectUsageModel.find({}, { bytes: 1 }).lean<Array<{ _id: string; bytes: number }>>();
    const counted = new Map(counters.map((c) => [c._id, c.bytes]));
    const drift = new Map<string, string>();
    let fixed = 0;
    for (const projectId of new Set([...sumOf.keys(), ...counted.keys()])) {
      const sum = sumOf.get(projectId) ?? 0;
      const counter = counted.get(projectId) ?? 0;
      if (sum === counter) continue;
      const seen = `${counter}:${sum}`;
      if (this.usageDrift.get(projectId) !== seen) {
        drift.set(projectId, seen);
        continue;
      }
      // only if the counter did not move meanwhile
      const r = await ProjectUsageModel.updateOne(
        { _id: projectId, bytes: counter },
        { $set: { bytes: sum } },
        { upsert: false },
      );
      if (r.modifiedCount) {
        fixed++;
        this.log.warn({ projectId, counted: counter, actual: sum }, 'project storage usage corrected');
      }
    }
    this.usageDrift = drift;
    return fixed;
  }

  // ---------------------------------------------------------------------------------------------

  private async byIdOrFail(id: string): Promise<File> {
    const f = await FileModel.findOne(live(id), FILE_PROJECTION).lean<File>();
    if (!f) throw new AppError(ErrorCode.NotFound, 'File not found');
    return f;
  }

  /** Records a verdict (from one of `from`), moving the bytes into or out of quarantine. */
  private async record(
    file: File,
    status: FileStatus,
    actor: Actor,
    detail: string | null,
    from: FileStatus[],
  ): Promise<File | null> {
    let key = file.key;
    if (status === FileStatus.INFECTED && file.key !== quarantineKey(file.projectId, file._id)) {
      key = quarantineKey(file.projectId, file._id);
      await this.storage.move(file.key, key, { fileName: file.name, contentType: file.contentType });
    } else if (status !== FileStatus.INFECTED && file.key === quarantineKey(file.projectId, file._id)) {
      key = fileKey(file.projectId, file._id);
      await this.storage.move(file.key, key, { fileName: file.name, contentType: file.contentType });
    }
    const events = [fileEvent(this.prefix, 'FileScanned', file, actor, { status })];
    if (status === FileStatus.INFECTED) events.push(fileEvent(this.prefix, 'FileInfected', file, actor, { signature: detail }));
    const updated = await FileModel.findOneAndUpdate(
      { ...live(file._id), status: { $in: from } },
      {
        $set: { status, key, scanResult: detail, scannedAt: new Date(), hasPending: true },
        $push: { pendingEvents: { $each: events } },
      },
      { returnDocument: 'after', projection: FILE_PROJECTION },
    ).lean<File>();
    if (!updated && key !== file.key) await this.storage.move(key, file.key).catch(() => undefined); // lost a race: put it back
    if (updated) {
      this.log.info({ fileId: file._id, status }, 'scan verdict recorded');
      await this.relay.flushQuietly(file._id);
    }
    return updated;
  }

  /** A completion that was refused: bytes and record removed, reservation given back. */
  private async refuse(file: File, actor: Actor): Promise<void> {
    await this.storage
      .delete(file.uploadKey)
      .catch((err: unknown) => this.log.warn({ err, fileId: file._id }, 'refused upload not removed; the orphan sweep will'));
    const gone = await FileModel.updateOne(
      { ...live(file._id), status: FileStatus.PENDING_UPLOAD },
      { $set: { deletedAt: new Date() } },
    );
    if (gone.modifiedCount) await this.release(file.projectId, file.size);
    void actor;
  }

  /** Soft-deletes with a FileDeleted event (complete files), removes the bytes, gives back the quota. */
  private async remove(
    file: File,
    actor: Actor,
    announce = file.status !== FileStatus.PENDING_UPLOAD,
    showLive = true,
  ): Promise<boolean> {
    const type: FileEventType = 'FileDeleted';
    const updated = await FileModel.updateOne(
      live(file._id),
      announce
        ? {
            $set: { deletedAt: new Date(), hasPending: true },
            $push: { pendingEvents: fileEvent(this.prefix, type, file, actor, {}, showLive) },
          }
        : { $set: { deletedAt: new Date() } },
    );
    if (!updated.modifiedCount) return false;
    await this.release(file.projectId, file.size);
    for (const key of new Set([file.uploadKey, file.key, quarantineKey(file.projectId, file._id)])) {
      await this.storage
        .delete(key)
        .catch((err: unknown) => this.log.warn({ err, fileId: file._id }, 'stored bytes not removed; the orphan sweep will'));
    }
    if (announce) await this.relay.flushQuietly(file._id);
    else await FileModel.deleteOne({ _id: file._id, deletedAt: { $ne: null }, pendingEvents: { $size: 0 } });
    return true;
  }

  private async removeQuietly(file: File, actor: Actor, announce: boolean, showLive = true): Promise<boolean> {
    try {
      return await this.remove(file, actor, announce && file.status !== FileStatus.PENDING_UPLOAD, showLive);
    } catch (err) {
      this.log.warn({ err, fileId: file._id }, 'file not removed yet; will retry');
      return false;
    }
  }

  private async enqueueQuietly(fileId: string): Promise<void> {
    try {
      await this.enqueueScan(fileId);
    } catch (err) {
      this.log.warn({ err, fileId }, 'scan not queued yet; the sweep will queue it');
    }
  }

  /** Reserves `size` bytes of the project's quota, or FILE-001 naming the quota. */
  private async reserve(projectId: string, size: number): Promise<void> {
    const quota = this.limits.projectQuotaBytes;
    try {
      await ProjectUsageModel.updateOne({ _id: projectId }, { $setOnInsert: { bytes: 0 } }, { upsert: true });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    const ok = await ProjectUsageModel.updateOne({ _id: projectId, bytes: { $lte: quota - size } }, { $inc: { bytes: size } });
    if (ok.modifiedCount === 1) return;
    const used = (await ProjectUsageModel.findById(projectId).lean())?.bytes ?? 0;
    throw new AppError(
      ErrorCode.UploadRefused,
      `Upload refused: the project's storage quota of ${quota} bytes would be exceeded (${used} bytes used)`,
      {
        field: 'size',
      },
    );
  }

  private async release(projectId: string, size: number): Promise<void> {
    if (size === 0) return;
    await ProjectUsageModel.updateOne({ _id: projectId }, { $inc: { bytes: -size } }).catch((err: unknown) =>
      this.log.warn({ err, projectId }, 'quota not given back'),
    );
  }
}
