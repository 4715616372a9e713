import { randomUUID } from 'node:crypto';
import { AppError, ErrorCode, type UserDirectory } from '@tm/kit/contracts';
import { liveChannel, type Logger, type Redis } from '@tm/kit/infra';
import type { Job } from 'bullmq';
import type { DeliveryQueues } from '../delivery/delivery.queues';
import type { DeliveryService } from '../delivery/delivery.service';
import type { Links } from '../delivery/delivery.templates';
import { NotificationKind } from '../notification/notification.enums';
import { NotificationModel, type Notification } from '../notification/notification.model';
import type { NotificationService } from '../notification/notification.service';
import { TaskInfoModel, type TaskInfo } from '../task/task-info.model';

const DAY_MS = 24 * 3600 * 1000;
export const BROADCAST_LEVELS = ['INFO', 'WARNING', 'CRITICAL'] as const;

/**
 * The `notifications-schedule` queue: due-soon and daily digest as repeatable jobs (BullMQ job
 * schedulers: one run per interval for all processes), and system broadcasts as jobs.
 */
export class ScheduleService {
  constructor(
    private readonly queues: DeliveryQueues,
    private readonly notifications: NotificationService,
    private readonly delivery: Pick<DeliveryService, 'queueDigest'>,
    private readonly directory: Pick<UserDirectory, 'activeUsers'>,
    private readonly links: Links,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly opts: { dueSoonEveryMs: number; digestEveryMs: number; broadcastBatch: number },
  ) {}

  /** Registers the repeatable jobs (idempotent: every process may call it). */
  async start(): Promise<void> {
    const q = this.queues.queues['notifications-schedule'];
    await q.upsertJobScheduler('due-soon', { every: this.opts.dueSoonEveryMs }, { name: 'due-soon' });
    await q.upsertJobScheduler('digest', { every: this.opts.digestEveryMs }, { name: 'digest' });
  }

  handle = async (job: Job): Promise<unknown> => {
    if (job.name === 'due-soon') return this.dueSoon();
    if (job.name === 'digest') return this.digest(job);
    if (job.name === 'broadcast') return this.fanOut(job);
    return null;
  };

  /** Tasks due within 24 h, assigned, not done: the assignee is told once per task and due date. */
  async dueSoon(): Promise<number> {
    const now = new Date();
    const due = await TaskInfoModel.find({ dueDate: { $gt: now, $lte: new Date(now.getTime() + DAY_MS) }, deleted: false })
      .limit(5000)
      .lean<TaskInfo[]>();
    let n = 0;
    for (const t of due) {
      if (!t.assigneeId || t.status === 'DONE' || !t.dueDate) continue;
      if (t.dueNotifiedFor && t.dueNotifiedFor.getTime() === t.dueDate.getTime()) continue;
      const made = await this.notifications.notify([
        {
          recipientId: t.assigneeId,
          kind: NotificationKind.TASK_DUE_SOON,
          title: `"${t.title}" is due ${t.dueDate.toISOString().replace('T', ' ').slice(0, 16)} UTC`,
          link: this.links.task(t.projectId, t._id),
          taskId: t._id,
          projectId: t.projectId,
          dedupeKey: `due:${t._id}:${t.dueDate.toISOString()}`,
        },
      ]);
      n += made.length;
      await TaskInfoModel.updateOne({ _id: t._id }, { $set: { dueNotifiedFor: t.dueDate } });
    }
    return n;
  }

  /** Per user with collected notifications: one digest email job with them (then they are no longer collected). */
  async digest(job: Job): Promise<number> {
    const runKey = String(job.id ?? randomUUID()).replace(/:/g, '-');
    const users = (await NotificationModel.distinct('recipientId', { digestPending: true })) as string[];
    for (const userId of users) {
      const items = await NotificationModel.find({ recipientId: userId, digestPending: true }, { _id: 1 })
        .sort({ createdAt: 1 })
        .limit(200)
        .lean<Array<Pick<Notification, '_id'>>>();
      const ids = items.map((i) => i._id);
      if (!ids.length) continue;
      await this.delivery.queueDigest(userId, ids, runKey);
      await NotificationModel.updateMany({ _id: { $in: ids } }, { $set: { digestPending: false } });
    }
    return users.length;
  }

  /** Counts who will get it and queues the fan-out (nothing per user on the request path). */
  async broadcast(actorId: string, message: string, level: string): Promise<number> {
    const text = message.trim();
    if (!text || text.length > 1000)
      throw new AppError(ErrorCode.InvalidRequest, 'Invalid message: 1 to 1000 characters', { field: 'message' });
    const lvl = level.toUpperCase();
    if (!(BROADCAST_LEVELS as readonly string[]).includes(lvl))
      throw new AppError(ErrorCode.InvalidRequest, `Invalid level: one of ${BROADCAST_LEVELS.join(', ')}`, { field: 'level' });
    const { total } = await this.directory.activeUsers(null, 1);
    const broadcastId = randomUUID();
    await this.queues.add(
      'notifications-schedule',
      'broadcast',
      { broadcastId, message: text, level: lvl, actorId },
      { jobId: `broadcast-${broadcastId}` },
    );
    // the sender is not told of their own broadcast
    return Math.max(0, total - 1);
  }

  /** Writes the broadcast for every active user, a batch at a time, and announces each live. */
  private async fanOut(job: Job): Promise<number> {
    const { broadcastId, message, level, actorId } = job.data as {
      broadcastId: string;
      message: string;
      level: string;
      actorId: string;
    };
    let after: string | null = (job.progress as { after?: string } | undefined)?.after ?? null;
    let n = 0;
    for (;;) {
      const page = await this.directory.activeUsers(after, this.opts.broadcastBatch);
      if (!page.ids.length) break;
      const recipients = page.ids.filter((id) => id !== actorId);
      const keys = recipients.map((id) => `broadcast:${broadcastId}:${id}`);
      const done = new Set(
        (
          await NotificationModel.find({ dedupeKey: { $in: keys } }, { dedupeKey: 1 }).lean<
            Array<Pick<Notification, 'dedupeKey'>>
          >()
        ).map((d) => d.dedupeKey),
      );
      const now = new Date();
      const docs = recipients
        .filter((id) => !done.has(`broadcast:${broadcastId}:${id}`))
        .map((id) => ({
          _id: randomUUID(),
          recipientId: id,
          kind: NotificationKind.SYSTEM,
          title: message.length > 120 ? `${message.slice(0, 117)}...` : message,
          body: message,
          link: this.links.notifications(),
          level,
          read: false,
          dedupeKey: `broadcast:${broadcastId}:${id}`,
          actorId,
          inApp: true,
          digestPending: false,
          createdAt: now,
        }));
      if (docs.length) {
        await NotificationModel.insertMany(docs, { ordered: false });
        const pipeline = this.redis.pipeline();
        for (const d of docs)
          pipeline.publish(
            liveChannel(this.prefix, 'notificationReceived', d.recipientId),
            JSON.stringify({ notificationId: d._id, recipientId: d.recipientId, eventId: d._id, at: now.toISOString() }),
          );
        await pipeline.exec();
      }
      n += docs.length;
      after = page.ids[page.ids.length - 1]!;
      await job.updateProgress({ after });
      if (page.ids.length < this.opts.broadcastBatch) break;
    }
    this.log.info({ broadcastId, written: n }, 'system broadcast written');
    return n;
  }
}
