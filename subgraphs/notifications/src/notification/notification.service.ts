import { randomUUID } from 'node:crypto';
import {
  type Connection,
  decodeTypedCursor,
  encodeCursor,
  forwardPage,
  isDuplicateKeyError,
  pageSize,
  type UserDirectory,
} from '@tm/kit/contracts';
import { liveChannel, type Logger, type Redis } from '@tm/kit/infra';
import type { PreferenceService } from '../preference/preference.service';
import { wants } from '../preference/preference.service';
import { NotificationModel, type Notification } from './notification.model';

/** A notification to make: who, what, and its cause (`dedupeKey`: the same cause makes it once). */
export interface NotificationDraft {
  recipientId: string;
  kind: string;
  title: string;
  body?: string | null;
  link?: string | null;
  level?: string;
  actorId?: string | null;
  taskId?: string | null;
  projectId?: string | null;
  dedupeKey: string;
}

/** Where notifications go beyond the in-app list (the BullMQ queues). */
export interface Outbound {
  email(notificationId: string): Promise<void>;
  push(notificationId: string): Promise<void>;
}

/** Addresses we send to: one @, no spaces or angle brackets, a dot in the domain. */
const EMAIL_RE = /^[^\s@<>"',;]{1,64}@[^\s@<>"',;]+\.[^\s@<>"',;]{2,}$/;
export const isDeliverableAddress = (email: string) => email.length <= 254 && EMAIL_RE.test(email);

/**
 * In-app notifications: made once per cause and recipient (never for the actor), listed newest
 * first, counted, marked read; each new one is announced live to its recipient and handed to the
 * email/push queues as the recipient's preferences say.
 */
export class NotificationService {
  /** Set once the queues exist (they need the service for their workers). */
  outbound: Outbound | null = null;

  constructor(
    private readonly preferences: PreferenceService,
    private readonly directory: Pick<UserDirectory, 'contacts'>,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  /** Makes the notifications not made yet; returns those made now. Throws (to be retried) when a store fails. */
  async notify(drafts: NotificationDraft[]): Promise<Notification[]> {
    const wanted = drafts.filter((d) => d.recipientId && d.recipientId !== d.actorId);
    if (!wanted.length) return [];
    const prefs = await this.preferences.ofMany(wanted.map((d) => d.recipientId));
    const made: Notification[] = [];
    const emailIds: string[] = [];
    for (const d of wanted) {
      const p = prefs.get(d.recipientId)!;
      const email = wants(p, d.kind, 'email');
      const doc = {
        _id: randomUUID(),
        recipientId: d.recipientId,
        kind: d.kind,
        title: d.title.slice(0, 300),
        body: d.body?.slice(0, 1000) ?? null,
        link: d.link ?? null,
        level: d.level ?? 'INFO',
        read: false,
        dedupeKey: d.dedupeKey,
        actorId: d.actorId ?? null,
        taskId: d.taskId ?? null,
        projectId: d.projectId ?? null,
        inApp: wants(p, d.kind, 'inApp'),
        digestPending: email && p.dailyDigest,
      };
      let n: Notification;
      let fresh = true;
      try {
        n = (await NotificationModel.create(doc)).toObject();
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        // handled before (a redelivered event): make sure its deliveries were queued, announce nothing again
        const existing = await NotificationModel.findOne({ dedupeKey: d.dedupeKey }).lean<Notification>();
        if (!existing) throw err;
        n = existing;
        fresh = false;
      }
      if (fresh) made.push(n);
      if (fresh && n.inApp) await this.announce(n);
      if (email && !p.dailyDigest) emailIds.push(n._id);
      if (wants(p, d.kind, 'push')) await this.outbound?.push(n._id);
    }
    if (emailIds.length) await this.queueEmails(emailIds);
    return made;
  }

  /** Queues emails whose recipient has a deliverable address (checked before queuing: NOTIF-001 otherwise, logged). */
  private async queueEmails(ids: string[]): Promise<void> {
    const docs = await NotificationModel.find({ _id: { $in: ids } }, { recipientId: 1 }).lean<
      Array<Pick<Notification, '_id' | 'recipientId'>>
    >();
    const contacts = new Map((await this.directory.contacts([...new Set(docs.map((d) => d.recipientId))])).map((c) => [c.id, c]));
    for (const d of docs) {
      const c = contacts.get(d.recipientId);
      if (!c?.active) continue;
      if (!isDeliverableAddress(c.email)) {
        this.log.warn({ code: 'NOTIF-001', notificationId: d._id }, 'email not queued: the address cannot be delivered to');
        continue;
      }
      await this.outbound?.email(d._id);
    }
  }

  /** Live `notificationReceived` for the recipient only (their own channel). */
  async announce(n: Pick<Notification, '_id' | 'recipientId'>): Promise<void> {
    try {
      await this.redis.publish(
        liveChannel(this.prefix, 'notificationReceived', n.recipientId),
        JSON.stringify({ notificationId: n._id, recipientId: n.recipientId, eventId: n._id, at: new Date().toISOString() }),
      );
    } catch (err) {
      this.log.warn({ err }, 'live notification not published');
    }
  }

  /** The recipient's own notification (null for anyone else's: unknown and foreign look the same). */
  async own(userId: string, id: string): Promise<Notification | null> {
    return NotificationModel.findOne({ _id: id, recipientId: userId }).lean<Notification>().exec();
  }

  byIds(ids: readonly string[]): Promise<Notification[]> {
    return NotificationModel.find({ _id: { $in: [...ids] } })
      .lean<Notification[]>()
      .exec();
  }

  /** Relay page of the user's in-app notifications, newest first. */
  async page(
    userId: string,
    args: { unreadOnly?: boolean | null; first?: number | null; after?: string | null },
    wanted: { edges: boolean; totalCount: boolean },
  ): Promise<Connection<Notification>> {
    const limit = pageSize(args.first);
    const filter: Record<string, unknown> = { recipientId: userId, inApp: true, ...(args.unreadOnly ? { read: false } : {}) };
    const pageFilter: Record<string, unknown> = { ...filter };
    if (args.after) {
      const [at, id] = decodeTypedCursor(args.after, ['date', 'string'] as const);
      pageFilter.$or = [{ createdAt: { $lt: at } }, { createdAt: at, _id: { $lt: id } }];
    }
    const [rows, total] = await Promise.all([
      wanted.edges
        ? NotificationModel.find(pageFilter)
            .sort({ createdAt: -1, _id: -1 })
            .limit(limit + 1)
            .lean<Notification[]>()
            .exec()
        : Promise.resolve([]),
      wanted.totalCount ? NotificationModel.countDocuments(filter).exec() : Promise.resolve(0),
    ]);
    return forwardPage(rows, limit, (n) => encodeCursor([n.createdAt.toISOString(), n._id]), total, Boolean(args.after));
  }

  unreadCount(userId: string): Promise<number> {
    return NotificationModel.countDocuments({ recipientId: userId, inApp: true, read: false }).exec();
  }

  /** Marks the caller's own among `ids` read; how many changed. */
  async markRead(userId: string, ids: string[]): Promise<number> {
    if (!ids.length) return 0;
    const r = await NotificationModel.updateMany(
      { _id: { $in: ids.slice(0, 1000) }, recipientId: userId, read: false },
      { $set: { read: true } },
    );
    return r.modifiedCount;
  }

  async markAllRead(userId: string): Promise<number> {
    const r = await NotificationModel.updateMany({ recipientId: userId, read: false }, { $set: { read: true } });
    return r.modifiedCount;
  }
}
