import { AppError, ErrorCode, type UserDirectory } from '@tm/kit/contracts';
import { type Logger, type Redis, type SecretBox } from '@tm/kit/infra';
import { UnrecoverableError, type Job } from 'bullmq';
import type { DeviceService } from '../device/device.service';
import { isDeliverableAddress } from '../notification/notification.service';
import { NotificationModel, type Notification } from '../notification/notification.model';
import type { EmailSender } from './email.sender';
import { EndpointGone, type PushSender } from './push.sender';
import { digestEmail, notificationEmail, passwordResetEmail, type Links } from './delivery.templates';
import type { DeliveryQueues } from './delivery.queues';

/** How long a sent-marker is kept: longer than any job can be retried or re-queued. */
const SENT_TTL_SECONDS = 30 * 24 * 3600;

export interface PasswordResetJob extends Record<string, unknown> {
  eventId: string;
  userId: string;
  resetTokenEncrypted: string;
  emailEncrypted: string;
  expiresAt: string;
}

/**
 * Email and push delivery, as BullMQ job handlers. Sending is idempotent: after a successful send a
 * marker (`notif:sent:<channel>:<what>`) is set, and a job that finds it sends nothing (a retry
 * after a send whose job did not complete, a re-queued failed job). A failure throws, so BullMQ
 * retries with backoff; a permanent one (no address, NOTIF-001) fails the job at once.
 */
export class DeliveryService {
  constructor(
    private readonly queues: DeliveryQueues,
    private readonly redis: Redis,
    private readonly directory: Pick<UserDirectory, 'contacts'>,
    private readonly devices: DeviceService,
    private readonly links: Links,
    private readonly email: EmailSender | null,
    private readonly pusher: PushSender | null,
    private readonly box: SecretBox | null,
    private readonly log: Logger,
    private readonly pushTimeoutMs: number,
  ) {}

  /** Queues the notification's email (once: the job id is derived from the notification). */
  async queueEmail(notificationId: string): Promise<void> {
    if (!this.email) return;
    await this.queues.add('email', 'notification', { notificationId }, { jobId: `email-${notificationId}` });
  }

  async queuePush(notificationId: string): Promise<void> {
    if (!this.pusher) return;
    await this.queues.add('push', 'notification', { notificationId }, { jobId: `push-${notificationId}` });
  }

  /** The reset link email of a PasswordResetRequested event (its sealed parts stay sealed in the queue). */
  async queuePasswordReset(job: PasswordResetJob): Promise<void> {
    if (!this.email) return;
    if (!this.box) {
      this.log.warn({ code: ErrorCode.DeliveryFailed }, 'password reset email not sent: ENCRYPTION_KEYS is not configured');
      return;
    }
    await this.queues.add('email', 'password-reset', job, { jobId: `reset-${job.eventId}` });
  }

  /** One digest email for the user's collected notifications. */
  async queueDigest(userId: string, notificationIds: string[], runKey: string): Promise<void> {
    await this.queues.add('email', 'digest', { userId, notificationIds }, { jobId: `digest-${userId}-${runKey}` });
  }

  private async once(marker: string, send: () => Promise<void>): Promise<'sent' | 'already sent'> {
    const key = `notif:sent:${marker}`;
    if (await this.redis.exists(key)) return 'already sent';
    await send();
    await this.redis.set(key, '1', 'EX', SENT_TTL_SECONDS);
    return 'sent';
  }

  private async addressOf(userId: string): Promise<{ email: string; name: string } | null> {
    const [c] = await this.directory.contacts([userId]);
    if (!c || !c.active) return null;
    if (!isDeliverableAddress(c.email))
      throw new UnrecoverableError(`${ErrorCode.DeliveryFailed}: the address cannot be delivered to`);
    return { email: c.email, name: c.name };
  }

  /** The `email` queue's handler. */
  handleEmail = async (job: Job): Promise<string> => {
    if (!this.email) throw new AppError(ErrorCode.DeliveryFailed, 'email is not configured');
    const sender = this.email;
    if (job.name === 'password-reset') {
      const d = job.data as PasswordResetJob;
      return this.once(`email:reset:${d.eventId}`, async () => {
        const to = this.box!.decrypt(d.emailEncrypted);
        const token = this.box!.decrypt(d.resetTokenEncrypted);
        if (!isDeliverableAddress(to))
          throw new UnrecoverableError(`${ErrorCode.DeliveryFailed}: the address cannot be delivered to`);
        await sender.send(
          to,
          passwordResetEmail(this.links.passwordReset(token), d.expiresAt),
          `<reset-${d.eventId}@tm.notifications>`,
        );
      });
    }
    if (job.name === 'digest') {
      const { userId, notificationIds } = job.data as { userId: string; notificationIds: string[] };
      return this.once(`email:${job.id}`, async () => {
        const to = await this.addressOf(userId);
        if (!to) return;
        const items = await NotificationModel.find({ _id: { $in: notificationIds } })
          .sort({ createdAt: 1 })
          .lean<Notification[]>();
        if (!items.length) return;
        await sender.send(to.email, digestEmail(items, to.name), `<${job.id}@tm.notifications>`);
      });
    }
    const { notificationId } = job.data as { notificationId: string };
    return this.once(`email:${notificationId}`, async () => {
      const n = await NotificationModel.findById(notificationId).lean<Notification>();
      if (!n) return;
      const to = await this.addressOf(n.recipientId);
      if (!to) return;
      await sender.send(to.email, notificationEmail(n, to.name), `<${notificationId}@tm.notifications>`);
    });
  };

  /** The `push` queue's handler: every valid device of the recipient, each once. */
  handlePush = async (job: Job): Promise<string> => {
    if (!this.pusher) throw new AppError(ErrorCode.DeliveryFailed, 'push is not configured');
    const pusher = this.pusher;
    const { notificationId } = job.data as { notificationId: string };
    const n = await NotificationModel.findById(notificationId).lean<Notification>();
    if (!n) return 'gone';
    const payload = { id: n._id, kind: n.kind, title: n.title, body: n.body ?? null, link: n.link ?? null, level: n.level };
    let failed = 0;
    for (const device of await this.devices.valid(n.recipientId)) {
      try {
        await this.once(`push:${notificationId}:${device._id}`, () => pusher.send(device, payload, this.pushTimeoutMs));
      } catch (err) {
        if (err instanceof EndpointGone) {
          await this.devices.markInvalid(device._id);
          this.log.info({ deviceId: device._id.slice(0, 12) }, 'push endpoint gone; token marked invalid');
        } else {
          failed++;
          this.log.warn({ err: (err as Error).message }, 'push not delivered; will retry');
        }
      }
    }
    if (failed) throw new AppError(ErrorCode.DeliveryFailed, `${failed} device(s) not reached`);
    return 'sent';
  };
}
