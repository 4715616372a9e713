import 'reflect-metadata';
import { UserDirectory } from '@tm/kit/contracts';
import {
  AuditLog,
  type BaseConfig,
  ConfigError,
  pingMongo,
  pingRedis,
  redisSettings,
  type RouteHandler,
  type RunningService,
  SecretBox,
  sendJson,
  startSubgraph,
} from '@tm/kit/infra';
import { notificationsConfigShape } from './config';
import type { NotificationsContext, Services } from './context';
import { DeliveryQueues } from './delivery/delivery.queues';
import { DeliveryService } from './delivery/delivery.service';
import { EmailSender } from './delivery/email.sender';
import { PushSender } from './delivery/push.sender';
import { Links } from './delivery/delivery.templates';
import { DeviceTokenModel } from './device/device.model';
import { DeviceService } from './device/device.service';
import { EventsConsumer } from './feed/feed.consumer';
import { FeedService } from './feed/feed.service';
import { createLoaders } from './loaders';
import { NotificationModel } from './notification/notification.model';
import { NotificationService } from './notification/notification.service';
import { PreferencesModel } from './preference/preference.model';
import { PreferenceService } from './preference/preference.service';
import { ProjectMemberModel } from './project/project-member.model';
import { ScheduleService } from './schedule/schedule.service';
import { buildNotificationsSchema } from './schema';
import { TaskInfoModel } from './task/task-info.model';

type Shape = typeof notificationsConfigShape;
export type NotificationsConfig = BaseConfig & { PORT: number } & { [K in keyof Shape]: import('zod').infer<Shape[K]> };

/** Starts the notifications subgraph (port 4005 unless NOTIFICATIONS_PORT/PORT say otherwise). */
export function start(env: NodeJS.ProcessEnv = process.env): Promise<RunningService<NotificationsConfig>> {
  return startSubgraph<NotificationsConfig, NotificationsContext>({
    name: 'notifications',
    defaultPort: 4005,
    env,
    configShape: notificationsConfigShape,
    models: [NotificationModel, PreferencesModel, DeviceTokenModel, TaskInfoModel, ProjectMemberModel],
    buildSchema: buildNotificationsSchema,
    setup: (deps) => {
      const { redis, log, config, metrics } = deps;
      if (!!config.VAPID_PUBLIC_KEY !== !!config.VAPID_PRIVATE_KEY)
        throw new ConfigError('invalid configuration:\n  VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY: both or neither');
      const directory = new UserDirectory(config.USERS_URL, config.INTERNAL_SECRET, log);
      const links = new Links(config.WEB_APP_URL);
      const preferences = new PreferenceService();
      const devices = new DeviceService();
      const notifications = new NotificationService(preferences, directory, redis, config.REDIS_PREFIX, log);
      const queues = new DeliveryQueues({
        redisTarget: redisSettings(config),
        prefix: config.REDIS_PREFIX,
        attempts: config.NOTIFY_ATTEMPTS,
        backoffMs: config.NOTIFY_BACKOFF_MS,
        concurrency: config.NOTIFY_CONCURRENCY,
        log,
        metrics,
      });
      const email = config.SMTP_URL ? new EmailSender(config.SMTP_URL, config.EMAIL_FROM, config.SMTP_TIMEOUT_MS) : null;
      const pusher =
        config.VAPID_PUBLIC_KEY && config.VAPID_PRIVATE_KEY
          ? new PushSender({
              subject: config.VAPID_SUBJECT,
              publicKey: config.VAPID_PUBLIC_KEY,
              privateKey: config.VAPID_PRIVATE_KEY,
            })
          : null;
      const box = config.ENCRYPTION_KEYS ? new SecretBox(config.ENCRYPTION_KEYS) : null;
      const delivery = new DeliveryService(
        queues,
        redis,
        directory,
        devices,
        links,
        email,
        pusher,
        box,
        log,
        config.SMTP_TIMEOUT_MS,
      );
      notifications.outbound = { email: (id) => delivery.queueEmail(id), push: (id) => delivery.queuePush(id) };
      const schedule = new ScheduleService(queues, notifications, delivery, directory, links, redis, config.REDIS_PREFIX, log, {
        dueSoonEveryMs: config.DUE_SOON_SCAN_MS,
        digestEveryMs: config.DIGEST_EVERY_MS,
        broadcastBatch: config.BROADCAST_BATCH,
      });
      const feed = new FeedService(notifications, delivery, directory, links);
      const consumer = new EventsConsumer(redis, feed.handle, log, metrics.registry, {
        intervalMs: config.NOTIFY_POLL_MS,
        claimIdleMs: config.NOTIFY_CLAIM_IDLE_MS,
      });
      const services: Services = {
        notifications,
        preferences,
        devices,
        queues,
        schedule,
        audit: new AuditLog('notifications', redis, log),
      };
      // readiness: the stores decide; the queues and channels are reported
      const ready: RouteHandler = async (_req, res) => {
        const [mongo, redisUp, queueStats] = await Promise.all([
          pingMongo(deps.mongo.connection).catch(() => false),
          pingRedis(redis),
          queues.stats().catch(() => null),
        ]);
        const ok = mongo && redisUp;
        const up = (b: boolean) => (b ? 'up' : 'down');
        sendJson(res, ok ? 200 : 503, {
          status: ok ? 'ready' : 'unavailable',
          service: 'notifications',
          dependencies: { mongo: up(mongo), redis: up(redisUp) },
          channels: { email: email ? 'configured' : 'off', push: pusher ? 'configured' : 'off' },
          // the gateway's serviceHealth lists these
          queues: Object.fromEntries((queueStats ?? []).map(({ name, ...counts }) => [name, counts])),
        });
      };
      return {
        context: (base) => ({ ...base, services, loaders: createLoaders(notifications) }),
        routes: { '/ready': ready },
        onConnected: async () => {
          queues.start({ email: delivery.handleEmail, push: delivery.handlePush, 'notifications-schedule': schedule.handle });
          await schedule.start();
          consumer.start();
        },
        onStop: async () => {
          await consumer.stop();
          await queues.close();
          email?.close();
        },
      };
    },
  });
}

if (require.main === module) {
  start().catch((err: unknown) => {
    console.error(err instanceof ConfigError ? `notifications: ${err.message}` : err);
    process.exit(1);
  });
}
