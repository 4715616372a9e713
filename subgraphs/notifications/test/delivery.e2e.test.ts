import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import webpush from 'web-push';
import { errorCode, gql } from '@tm/tools/testing/graphql';
import { registerUser, signInFirstAdmin, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';
import type { Client } from 'graphql-ws';
import { as as asOn, collect, data, liveClient, notificationsOf, TestPushService, TestSmtp, waitFor } from './helpers';

/**
 * Delivery through the real gateway: SMTP down and back (retries, no duplicate, no loss), the failed
 * set re-queued by an admin, a job run twice sends once, Web Push to a live and a gone endpoint,
 * preferences and the daily digest, a broadcast to many users.
 */
let stack: Stack;
let url: string;
let redis: Redis;
let emailQueue: Queue;
let queueRedis: Redis;
const smtp = new TestSmtp();
const push = new TestPushService();
const clients: Client[] = [];
let owner: TestUser, member: TestUser, digester: TestUser;
let adminToken: string;
let projectId: string;
const ADMIN_EMAIL = 'root.delivery@example.com';
const ADMIN_PASSWORD = 'admin-password-42';

const as = (u: TestUser, q: string, v: Record<string, unknown> = {}) => asOn(url, u, q, v);
const admin = (q: string, v: Record<string, unknown> = {}) => gql(url, q, v, { token: adminToken });
const CREATE = 'mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }';
type Stats = { name: string; waiting: number; active: number; failed: number; delayed: number; completed: number };
async function queue(name: string): Promise<Stats> {
  return data<{ notificationQueues: Stats[] }>(
    await admin('{ notificationQueues { name waiting active failed delayed completed } }'),
  ).notificationQueues.find((q) => q.name === name)!;
}
async function assign(title: string, to: TestUser): Promise<string> {
  return data<{ createTask: { id: string } }>(await as(owner, CREATE, { i: { projectId, title, assigneeId: to.id } })).createTask
    .id;
}

beforeAll(async () => {
  await smtp.up();
  await push.start();
  const vapid = webpush.generateVAPIDKeys();
  stack = await startStack('notif_delivery', ['users', 'projects', 'tasks', 'notifications'], {
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SMTP_URL: smtp.url,
    SMTP_TIMEOUT_MS: '3000',
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:ops@example.test',
    NODE_EXTRA_CA_CERTS: push.caFile,
    NOTIFY_POLL_MS: '100',
    NOTIFY_ATTEMPTS: '6',
    NOTIFY_BACKOFF_MS: '600',
    DIGEST_EVERY_MS: '3000',
    BROADCAST_BATCH: '7',
    OUTBOX_SWEEP_MS: '500',
  });
  url = stack.gateway.url;
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX });
  queueRedis = new Redis(stack.env.REDIS_URL!, { maxRetriesPerRequest: null });
  emailQueue = new Queue('email', { connection: queueRedis, prefix: `${stack.env.REDIS_PREFIX}bull` });
  [owner, member, digester] = await Promise.all(['Olga', 'Max', 'Dora'].map((n) => registerUser(url, n)));
  adminToken = await signInFirstAdmin(stack, ADMIN_EMAIL, ADMIN_PASSWORD);
  projectId = data<{ createProject: { id: string } }>(
    await as(owner, 'mutation { createProject(input: { name: "Mail" }) { id } }'),
  ).createProject.id;
  for (const u of [member, digester])
    data(
      await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }', {
        p: projectId,
        u: u.id,
      }),
    );
  await waitFor(() => smtp.to(member.email).length > 0, 'the welcome-to-project email');
}, 180_000);

afterAll(async () => {
  for (const c of clients) await c.dispose();
  await emailQueue?.close();
  queueRedis?.disconnect();
  redis?.disconnect();
  await stack?.stop();
  await smtp.down();
  await push.stop();
});

describe('email delivery that survives failures', () => {
  it('retries while the SMTP server is down and delivers everything once when it is back', async () => {
    await smtp.down();
    const titles = ['Down 1', 'Down 2', 'Down 3', 'Down 4'];
    for (const t of titles) await assign(t, member);
    // every job has failed at least once and waits for its retry
    await waitFor(async () => (await queue('email')).delayed >= titles.length, 'the retries to be scheduled');
    await smtp.up();
    await waitFor(
      () => titles.every((t) => smtp.to(member.email).some((m) => m.subject.endsWith(`"${t}"`))),
      'every email after the recovery',
    );
    await waitFor(async () => {
      const q = await queue('email');
      return q.delayed + q.waiting + q.active === 0;
    }, 'the queue to drain');
    for (const t of titles) expect(smtp.to(member.email).filter((m) => m.subject.endsWith(`"${t}"`))).toHaveLength(1);
  });

  it('retries a temporary refusal (451) without sending twice', async () => {
    smtp.refuseNext(2);
    await assign('Refused twice', member);
    await waitFor(() => smtp.to(member.email).some((m) => m.subject.endsWith('"Refused twice"')), 'the email after two refusals');
    await waitFor(async () => (await queue('email')).delayed + (await queue('email')).waiting === 0, 'the queue to settle');
    expect(smtp.to(member.email).filter((m) => m.subject.endsWith('"Refused twice"'))).toHaveLength(1);
  });

  it('keeps jobs that used all their tries in the failed set, and retryFailedNotifications re-queues them', async () => {
    await smtp.down();
    const before = (await queue('email')).failed;
    await assign('Exhausted A', member);
    await assign('Exhausted B', member);
    await waitFor(async () => (await queue('email')).failed >= before + 2, 'the jobs to fail for good', 90_000);
    await smtp.up();
    expect(errorCode(await as(member, 'mutation { retryFailedNotifications(channel: "email", sinceMinutes: 30) }'))).toBe(
      'PERM-001',
    );
    expect(
      data<{ retryFailedNotifications: number }>(
        await admin('mutation { retryFailedNotifications(channel: "email", sinceMinutes: 30) }'),
      ).retryFailedNotifications,
    ).toBe(2);
    await waitFor(
      () => ['Exhausted A', 'Exhausted B'].every((t) => smtp.to(member.email).some((m) => m.subject.endsWith(`"${t}"`))),
      'the re-queued emails',
    );
    expect((await queue('email')).failed).toBe(before);
    for (const t of ['Exhausted A', 'Exhausted B'])
      expect(smtp.to(member.email).filter((m) => m.subject.endsWith(`"${t}"`))).toHaveLength(1);
  }, 120_000);

  it('sends nothing when a job for an email already sent runs again', async () => {
    await assign('Once only', member);
    await waitFor(() => smtp.to(member.email).some((m) => m.subject.endsWith('"Once only"')), 'the email');
    const n = (await notificationsOf(url, member)).find((x) => x.title.endsWith('"Once only"'))!;
    const completed = (await queue('email')).completed;
    await emailQueue.add('notification', { notificationId: n.id }, { jobId: `again-${n.id}` });
    await waitFor(async () => (await queue('email')).completed > completed, 'the second job to complete');
    expect(smtp.to(member.email).filter((m) => m.subject.endsWith('"Once only"'))).toHaveLength(1);
  });
});

describe('push', () => {
  it('pushes to a registered device (payload decrypted at the endpoint) and marks a gone endpoint invalid', async () => {
    const live = push.device(201);
    const gone = push.device(410);
    expect(errorCode(await as(member, 'mutation { registerDeviceToken(token: "nope", platform: "web") }'))).toBe('API-002');
    expect(
      errorCode(await as(member, 'mutation($t: String!) { registerDeviceToken(token: $t, platform: "fax") }', { t: live.token })),
    ).toBe('API-002');
    for (const d of [live, gone])
      expect(
        data<{ registerDeviceToken: boolean }>(
          await as(member, 'mutation($t: String!) { registerDeviceToken(token: $t, platform: "web") }', { t: d.token }),
        ).registerDeviceToken,
      ).toBe(true);
    await assign('Pushed <i>task</i>', member);
    await waitFor(() => live.received.length > 0, 'the push');
    expect(live.received[0]).toMatchObject({
      kind: 'TASK_ASSIGNED',
      title: 'You were assigned "Pushed <i>task</i>"',
      level: 'INFO',
    });
    expect(push.refused).toEqual([]);
    // the gone device: marked invalid, then removed by an admin
    expect(errorCode(await as(member, 'mutation { cleanupInvalidDeviceTokens }'))).toBe('PERM-001');
    await waitFor(
      async () =>
        data<{ cleanupInvalidDeviceTokens: number }>(await admin('mutation { cleanupInvalidDeviceTokens }'))
          .cleanupInvalidDeviceTokens === 1,
      'the gone token to be removed',
    );
    expect(
      data<{ cleanupInvalidDeviceTokens: number }>(await admin('mutation { cleanupInvalidDeviceTokens }'))
        .cleanupInvalidDeviceTokens,
    ).toBe(0);
    // the next push reaches the live device only, once
    await assign('Pushed again', member);
    await waitFor(() => live.received.length > 1, 'the second push');
    expect(live.received.map((p) => p.title)).toEqual([
      'You were assigned "Pushed <i>task</i>"',
      'You were assigned "Pushed again"',
    ]);
    expect(gone.received).toEqual([]);
  });
});

describe('preferences and digest', () => {
  it('shows defaults, changes only what is named, refuses unknown kinds, and respects the choice', async () => {
    const P = '{ notificationPreferences { dailyDigest kinds { kind inApp email push } } }';
    const prefs = data<{
      notificationPreferences: {
        dailyDigest: boolean;
        kinds: Array<{ kind: string; inApp: boolean; email: boolean; push: boolean }>;
      };
    }>(await as(member, P)).notificationPreferences;
    expect(prefs.dailyDigest).toBe(false);
    expect(prefs.kinds.find((k) => k.kind === 'TASK_ASSIGNED')).toEqual({
      kind: 'TASK_ASSIGNED',
      inApp: true,
      email: true,
      push: true,
    });
    const U =
      'mutation($i: NotificationPreferencesInput!) { updateNotificationPreferences(input: $i) { dailyDigest kinds { kind inApp email push } } }';
    expect(errorCode(await as(member, U, { i: { kinds: [{ kind: 'NOPE', email: false }] } }))).toBe('API-002');
    const changed = data<{ updateNotificationPreferences: typeof prefs }>(
      await as(member, U, { i: { kinds: [{ kind: 'TASK_ASSIGNED', email: false, inApp: false }] } }),
    ).updateNotificationPreferences;
    expect(changed.kinds.find((k) => k.kind === 'TASK_ASSIGNED')).toEqual({
      kind: 'TASK_ASSIGNED',
      inApp: false,
      email: false,
      push: true,
    });
    expect(changed.kinds.find((k) => k.kind === 'MENTIONED')).toEqual({
      kind: 'MENTIONED',
      inApp: true,
      email: true,
      push: true,
    });
    const pushes = push.device(201);
    data(await as(member, 'mutation($t: String!) { registerDeviceToken(token: $t, platform: "web") }', { t: pushes.token }));
    await assign('Quiet', member);
    await waitFor(() => pushes.received.length > 0, 'the push (still on)');
    expect(smtp.to(member.email).some((m) => m.subject.endsWith('"Quiet"'))).toBe(false);
    expect((await notificationsOf(url, member)).some((n) => n.title.endsWith('"Quiet"'))).toBe(false);
  });

  it('collects the emails of a digest user into digest emails, each notification once', async () => {
    data(await as(digester, 'mutation { updateNotificationPreferences(input: { dailyDigest: true }) { dailyDigest } }'));
    const before = smtp.to(digester.email).length;
    await assign('Digest one', digester);
    await assign('Digest two', digester);
    await waitFor(() => {
      const text = smtp
        .to(digester.email)
        .slice(before)
        .map((m) => m.text)
        .join('\n');
      return text.includes('"Digest one"') && text.includes('"Digest two"');
    }, 'the digest');
    const mails = smtp.to(digester.email).slice(before);
    expect(mails.every((m) => /^Your daily digest: \d notifications?$/.test(m.subject))).toBe(true);
    const text = mails.map((m) => m.text).join('\n');
    expect(text.split('"Digest one"').length - 1).toBe(1);
    expect(text.split('"Digest two"').length - 1).toBe(1);
    expect((await notificationsOf(url, digester)).filter((n) => n.title.startsWith('You were assigned "Digest'))).toHaveLength(2);
  });
});

describe('broadcast', () => {
  it('returns at once with how many it reaches and reaches every active user in-app and live, in batches', async () => {
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => registerUser(url, `Reader${i}`)));
    const c = liveClient(url, many[0]!);
    clients.push(c);
    const sub = collect(c, 'subscription { notificationReceived { kind title body level } }');
    const channel = `${stack.env.REDIS_PREFIX}live:notificationReceived:${many[0]!.id}`;
    await waitFor(
      async () => Number(((await redis.pubsub('NUMSUB', channel)) as Array<string | number>)[1]) > 0,
      'the live subscription',
    );
    expect(errorCode(await as(member, 'mutation { broadcastSystemNotification(message: "x", level: "INFO") }'))).toBe('PERM-001');
    expect(errorCode(await admin('mutation { broadcastSystemNotification(message: "x", level: "LOUD") }'))).toBe('API-002');
    const active = 3 + 20 + 1; // owner, member, digester, readers, the admin
    const reached = data<{ broadcastSystemNotification: number }>(
      await admin('mutation { broadcastSystemNotification(message: "Maintenance at <b>22:00</b>", level: "WARNING") }'),
    ).broadcastSystemNotification;
    expect(reached).toBe(active - 1);
    for (const u of [owner, member, digester, ...many]) {
      await waitFor(async () => (await notificationsOf(url, u)).some((n) => n.kind === 'SYSTEM'), `the broadcast for ${u.name}`);
    }
    for (const u of [owner, ...many.slice(0, 3)]) {
      const sys = (await notificationsOf(url, u)).filter((n) => n.kind === 'SYSTEM');
      expect(sys).toHaveLength(1);
      expect(sys[0]).toMatchObject({ body: 'Maintenance at <b>22:00</b>', level: 'WARNING' });
    }
    await waitFor(() => sub.items.length > 0, 'the live broadcast');
    expect(sub.items[0]).toEqual({
      notificationReceived: {
        kind: 'SYSTEM',
        title: 'Maintenance at <b>22:00</b>',
        body: 'Maintenance at <b>22:00</b>',
        level: 'WARNING',
      },
    });
    sub.stop();
  }, 120_000);
});
