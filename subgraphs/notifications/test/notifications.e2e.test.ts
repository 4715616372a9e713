import { Redis } from 'ioredis';
import { errorCode, gql } from '@tm/tools/testing/graphql';
import { registerUser, signInFirstAdmin, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';
import type { Client } from 'graphql-ws';
import {
  as as asOn,
  collect,
  data,
  liveClient,
  MY_NOTIFICATIONS,
  notificationsOf,
  TestSmtp,
  waitFor,
  type NotificationView,
} from './helpers';

/**
 * Notifications through the real gateway (users, projects, tasks, notifications), real Redis and
 * store, a real SMTP server: who is told of what (never the actor), pages and read marks, live
 * notificationReceived (the recipient's only), email content, password reset link, due soon,
 * admin refusals.
 */
let stack: Stack;
let url: string;
let redis: Redis;
const smtp = new TestSmtp();
const clients: Client[] = [];
let owner: TestUser, member: TestUser, vera: TestUser, outsider: TestUser;
let adminToken: string;
let projectId: string;
const ADMIN_EMAIL = 'root.notify@example.com';
const ADMIN_PASSWORD = 'admin-password-42';
const APP = 'https://app.example.test';

const as = (u: TestUser, q: string, v: Record<string, unknown> = {}) => asOn(url, u, q, v);
const kinds = (list: NotificationView[]) => list.map((n) => n.kind).sort();
const CREATE = 'mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }';
const ADD = 'mutation($p: ID!, $u: ID!, $r: ProjectRole!) { addProjectMember(projectId: $p, userId: $u, role: $r) { id } }';

async function count(u: TestUser): Promise<number> {
  return data<{ me: { unreadNotificationCount: number } }>(await as(u, '{ me { unreadNotificationCount } }')).me
    .unreadNotificationCount;
}
async function until(u: TestUser, pred: (l: NotificationView[]) => boolean, what: string): Promise<NotificationView[]> {
  let last: NotificationView[] = [];
  await waitFor(
    async () => pred((last = await notificationsOf(url, u))),
    () => `${what} (have ${JSON.stringify(kinds(last))})`,
  );
  return last;
}
/** The live channel of a user has a subscriber (the gateway's Redis SUBSCRIBE is done). */
async function listening(userId: string): Promise<void> {
  const channel = `${stack.env.REDIS_PREFIX}live:notificationReceived:${userId}`;
  await waitFor(
    async () => Number(((await redis.pubsub('NUMSUB', channel)) as Array<string | number>)[1]) > 0,
    'the live subscription',
  );
}

beforeAll(async () => {
  await smtp.up();
  stack = await startStack('notif_e2e', ['users', 'projects', 'tasks', 'notifications'], {
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SMTP_URL: smtp.url,
    WEB_APP_URL: APP,
    NOTIFY_POLL_MS: '100',
    NOTIFY_BACKOFF_MS: '200',
    DUE_SOON_SCAN_MS: '500',
    OUTBOX_SWEEP_MS: '500',
  });
  url = stack.gateway.url;
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX });
  [owner, member, vera, outsider] = await Promise.all(['Olga Owner', 'Max', 'Vera', 'Oscar'].map((n) => registerUser(url, n)));
  adminToken = await signInFirstAdmin(stack, ADMIN_EMAIL, ADMIN_PASSWORD);
  projectId = data<{ createProject: { id: string } }>(
    await as(owner, 'mutation { createProject(input: { name: "Apollo" }) { id } }'),
  ).createProject.id;
  data(await as(owner, ADD, { p: projectId, u: member.id, r: 'MEMBER' }));
  data(await as(owner, ADD, { p: projectId, u: vera.id, r: 'VIEWER' }));
}, 180_000);

afterAll(async () => {
  if (process.env.DUMP_LOGS) console.log(stack?.services.notifications?.output().slice(-6000));
  for (const c of clients) await c.dispose();
  redis?.disconnect();
  await stack?.stop();
  await smtp.down();
});

describe('who is told', () => {
  it('tells people added to a project, never the one who added them', async () => {
    const m = await until(member, (l) => l.some((n) => n.kind === 'PROJECT_MEMBER_ADDED'), 'member added');
    expect(m.find((n) => n.kind === 'PROJECT_MEMBER_ADDED')).toMatchObject({
      title: 'You were added to a project as member',
      link: `${APP}/projects/${projectId}`,
      read: false,
    });
    await until(vera, (l) => l.some((n) => n.kind === 'PROJECT_MEMBER_ADDED'), 'viewer added');
    const r = data<{ me: { notifications: { edges: Array<{ node: { project: { name: string } } }> } } }>(
      await as(vera, MY_NOTIFICATIONS, { first: 5 }),
    );
    expect(r.me.notifications.edges[0]!.node.project.name).toBe('Apollo');
    expect(await notificationsOf(url, owner)).toEqual([]);
  });

  it('tells a new assignee (and only when the assignee changes), never the actor', async () => {
    const t = data<{ createTask: { id: string } }>(
      await as(owner, CREATE, { i: { projectId, title: 'Write <b>docs</b>', assigneeId: member.id } }),
    ).createTask;
    const list = await until(member, (l) => l.some((n) => n.kind === 'TASK_ASSIGNED'), 'assignment');
    const assigned = list.filter((n) => n.kind === 'TASK_ASSIGNED');
    expect(assigned).toHaveLength(1);
    expect(assigned[0]).toMatchObject({
      title: 'You were assigned "Write <b>docs</b>"',
      link: `${APP}/projects/${projectId}/tasks/${t.id}`,
    });
    // the member assigns a task to themself: nothing; the owner renames the task: nothing new
    data(await as(member, CREATE, { i: { projectId, title: 'Mine', assigneeId: member.id } }));
    data(
      await as(
        owner,
        'mutation($id: ID!) { updateTask(id: $id, input: { title: "Write docs", assigneeId: "' + member.id + '" }) { id } }',
        { id: t.id },
      ),
    );
    // a marker after both: a reassignment to Vera reaches her, so the events before it were handled
    data(
      await as(owner, 'mutation($id: ID!, $a: ID) { updateTask(id: $id, input: { assigneeId: $a }) { id } }', {
        id: t.id,
        a: vera.id,
      }),
    );
    await until(vera, (l) => l.some((n) => n.kind === 'TASK_ASSIGNED'), 'reassignment');
    expect((await notificationsOf(url, member)).filter((n) => n.kind === 'TASK_ASSIGNED')).toHaveLength(1);
    expect(await notificationsOf(url, owner)).toEqual([]);
  });

  it('tells the reporter and assignee of a comment, and people @mentioned in it, not its author', async () => {
    const t = data<{ createTask: { id: string } }>(
      await as(owner, CREATE, { i: { projectId, title: 'Launch', assigneeId: member.id } }),
    ).createTask;
    await until(member, (l) => l.some((n) => n.kind === 'TASK_ASSIGNED' && n.title.includes('Launch')), 'assignment');
    data(
      await as(member, 'mutation($t: ID!, $b: String!) { addComment(taskId: $t, body: $b) { id } }', {
        t: t.id,
        b: 'Ready, @vera please check. @Nobody',
      }),
    );
    const o = await until(owner, (l) => l.some((n) => n.kind === 'TASK_COMMENT'), 'comment to the reporter');
    expect(o.find((n) => n.kind === 'TASK_COMMENT')).toMatchObject({
      title: 'New comment on "Launch"',
      body: 'Ready, @vera please check. @Nobody',
    });
    const v = await until(vera, (l) => l.some((n) => n.kind === 'MENTIONED'), 'mention');
    expect(v.find((n) => n.kind === 'MENTIONED')!.title).toBe('You were mentioned on "Launch"');
    expect((await notificationsOf(url, member)).filter((n) => n.kind === 'TASK_COMMENT' || n.kind === 'MENTIONED')).toEqual([]);
    // Vera was mentioned on the task: the next comment (by the owner) concerns her and the assignee
    data(
      await as(owner, 'mutation($t: ID!, $b: String!) { addComment(taskId: $t, body: $b) { id } }', {
        t: t.id,
        b: 'Thanks @Olga Owner',
      }),
    );
    await until(vera, (l) => l.some((n) => n.kind === 'TASK_COMMENT'), 'follow-up to the mentioned');
    await until(member, (l) => l.some((n) => n.kind === 'TASK_COMMENT'), 'follow-up to the assignee');
    expect((await notificationsOf(url, owner)).filter((n) => n.kind === 'MENTIONED')).toEqual([]); // self-mention
    expect(await notificationsOf(url, outsider)).toEqual([]);
  });

  it('tells a member whose role changed', async () => {
    data(
      await as(owner, 'mutation($p: ID!, $u: ID!) { changeProjectMemberRole(projectId: $p, userId: $u, role: MANAGER) { id } }', {
        p: projectId,
        u: vera.id,
      }),
    );
    const v = await until(vera, (l) => l.some((n) => n.kind === 'PROJECT_ROLE_CHANGED'), 'role change');
    expect(v.find((n) => n.kind === 'PROJECT_ROLE_CHANGED')!.title).toBe('Your role in a project is now manager');
  });

  it('tells the assignee once that a task is due within 24 hours', async () => {
    const due = new Date(Date.now() + 6 * 3600_000).toISOString();
    const later = new Date(Date.now() + 48 * 3600_000).toISOString();
    const t = data<{ createTask: { id: string } }>(
      await as(owner, CREATE, { i: { projectId, title: 'Soon', assigneeId: member.id, dueDate: due } }),
    ).createTask;
    data(await as(owner, CREATE, { i: { projectId, title: 'Later', assigneeId: member.id, dueDate: later } }));
    await until(member, (l) => l.some((n) => n.kind === 'TASK_DUE_SOON'), 'due soon');
    // several scans later (the schedule queue's completed count grows), still one
    const scans = async () =>
      data<{ notificationQueues: Array<{ name: string; completed: number }> }>(
        await gql(url, '{ notificationQueues { name completed } }', {}, { token: adminToken }),
      ).notificationQueues.find((q) => q.name === 'notifications-schedule')!.completed;
    const before = await scans();
    await waitFor(async () => (await scans()) >= before + 3, 'three more scans');
    const dues = (await notificationsOf(url, member)).filter((n) => n.kind === 'TASK_DUE_SOON');
    expect(dues).toHaveLength(1);
    expect(dues[0]!.title).toMatch(/^"Soon" is due /);
    // a new due date is a new notice
    data(
      await as(owner, 'mutation($id: ID!, $d: DateTime) { updateTask(id: $id, input: { dueDate: $d }) { id } }', {
        id: t.id,
        d: new Date(Date.now() + 8 * 3600_000).toISOString(),
      }),
    );
    await until(member, (l) => l.filter((n) => n.kind === 'TASK_DUE_SOON').length === 2, 'due soon for the new date');
  });
});

describe('the list', () => {
  it('pages newest first, counts unread, marks read only the caller’s own', async () => {
    const all = await notificationsOf(url, member);
    expect(all.length).toBeGreaterThanOrEqual(4);
    const first = data<{
      me: {
        notifications: {
          totalCount: number;
          pageInfo: { hasNextPage: boolean; endCursor: string };
          edges: Array<{ node: NotificationView }>;
        };
      };
    }>(await as(member, MY_NOTIFICATIONS, { first: 2 })).me.notifications;
    expect(first.totalCount).toBe(all.length);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = data<{ me: { notifications: { edges: Array<{ node: NotificationView }> } } }>(
      await as(member, MY_NOTIFICATIONS, { first: 2, after: first.pageInfo.endCursor }),
    ).me.notifications;
    expect([...first.edges, ...second.edges].map((e) => e.node.id)).toEqual(all.slice(0, 4).map((n) => n.id));
    expect(await count(member)).toBe(all.length);
    // someone else's ids change nothing
    const veras = await notificationsOf(url, vera);
    expect(
      data<{ markNotificationsRead: number }>(
        await as(member, 'mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }', { ids: veras.map((n) => n.id) }),
      ).markNotificationsRead,
    ).toBe(0);
    expect(
      data<{ markNotificationsRead: number }>(
        await as(member, 'mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }', { ids: [all[0]!.id, all[1]!.id] }),
      ).markNotificationsRead,
    ).toBe(2);
    expect(await count(member)).toBe(all.length - 2);
    const unread = data<{ me: { notifications: { totalCount: number } } }>(await as(member, MY_NOTIFICATIONS, { unread: true }))
      .me.notifications;
    expect(unread.totalCount).toBe(all.length - 2);
    expect(
      data<{ markAllNotificationsRead: number }>(await as(member, 'mutation { markAllNotificationsRead }'))
        .markAllNotificationsRead,
    ).toBe(all.length - 2);
    expect(await count(member)).toBe(0);
    expect(await count(vera)).toBe(veras.length);
  });

  it('shows nobody else’s notifications (PERM-001), not even to an admin; one notification only to its recipient', async () => {
    const r = await as(outsider, 'query($id: ID!) { user(id: $id) { notifications { totalCount } } }', { id: member.id });
    expect(errorCode(r)).toBe('PERM-001');
    const a = await gql(
      url,
      'query($id: ID!) { user(id: $id) { unreadNotificationCount } }',
      { id: member.id },
      { token: adminToken },
    );
    expect(errorCode(a)).toBe('PERM-001');
    const [n] = await notificationsOf(url, member);
    expect(
      data<{ notification: unknown }>(await as(outsider, 'query($id: ID!) { notification(id: $id) { id } }', { id: n!.id }))
        .notification,
    ).toBeNull();
    expect(
      data<{ notification: { id: string } }>(await as(member, 'query($id: ID!) { notification(id: $id) { id } }', { id: n!.id }))
        .notification.id,
    ).toBe(n!.id);
    expect((await gql(url, '{ me { unreadNotificationCount } }')).data?.me).toBeNull(); // signed out: no one to count for
  });
});

describe('live', () => {
  it('delivers notificationReceived to its recipient only, with fields of other subgraphs', async () => {
    const Q =
      'subscription { notificationReceived { id kind title read recipient { id name } task { title assignee { name } } } }';
    const mc = liveClient(url, member);
    const oc = liveClient(url, owner);
    clients.push(mc, oc);
    const mine = collect(mc, Q);
    const theirs = collect(oc, Q);
    await listening(member.id);
    await listening(owner.id);
    data(await as(owner, CREATE, { i: { projectId, title: 'Live one', assigneeId: member.id } }));
    await waitFor(() => mine.items.length > 0, 'the live notification');
    expect(mine.errors).toEqual([]);
    expect(mine.items[0]).toEqual({
      notificationReceived: {
        id: expect.any(String),
        kind: 'TASK_ASSIGNED',
        title: 'You were assigned "Live one"',
        read: false,
        recipient: { id: member.id, name: 'Max' },
        task: { title: 'Live one', assignee: { name: 'Max' } },
      },
    });
    // the owner, the actor, gets nothing; a notification of the owner's reaches them alone
    data(await as(member, CREATE, { i: { projectId, title: 'For Olga', assigneeId: owner.id } }));
    await waitFor(() => theirs.items.length > 0, 'the owner’s notification');
    expect(mine.items).toHaveLength(1);
    expect((theirs.items[0]!.notificationReceived as { title: string }).title).toBe('You were assigned "For Olga"');
    mine.stop();
    theirs.stop();
  });
});

describe('email', () => {
  it('emails what the preferences say, with user content escaped and links to the web app', async () => {
    await waitFor(() => smtp.to(member.email).some((m) => m.subject.includes('Write <b>docs</b>')), 'the assignment email');
    const mail = smtp.to(member.email).find((m) => m.subject.includes('Write <b>docs</b>'))!;
    expect(mail.subject).toBe('A task was assigned to you: You were assigned "Write <b>docs</b>"');
    expect(mail.text).toContain('Hello Max');
    expect(mail.text).toContain(`${APP}/projects/${projectId}/tasks/`);
    expect(mail.html).toContain('Write &lt;b&gt;docs&lt;/b&gt;');
    expect(mail.html).not.toContain('<b>docs</b>');
    expect(mail.html).toContain(`href="${APP}/projects/${projectId}/tasks/`);
    // TASK_COMMENT is in-app only by default: no email for it
    expect(smtp.to(owner.email).some((m) => m.subject.startsWith('New comment'))).toBe(false);
    // one email per notification (the message id names it)
    const ids = smtp.mails.map((m) => m.messageId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('emails a password reset link built from the sealed token, which resets the password', async () => {
    expect(
      data<{ requestPasswordReset: boolean }>(
        await gql(url, 'mutation($e: String!) { requestPasswordReset(email: $e) }', { e: outsider.email }),
      ).requestPasswordReset,
    ).toBe(true);
    await waitFor(() => smtp.to(outsider.email).some((m) => m.subject === 'Reset your password'), 'the reset email');
    const mail = smtp.to(outsider.email).find((m) => m.subject === 'Reset your password')!;
    const link = new RegExp(`${APP.replace(/\./g, '\\.')}/reset-password\\?token=([\\w%.-]+)`).exec(mail.text);
    expect(link).not.toBeNull();
    const token = decodeURIComponent(link![1]!);
    expect(
      data<{ resetPassword: boolean }>(
        await gql(url, 'mutation($t: String!) { resetPassword(token: $t, newPassword: "brand-new-pass-9") }', { t: token }),
      ).resetPassword,
    ).toBe(true);
    const login = await gql<{ login: { accessToken: string } }>(
      url,
      'mutation($e: String!) { login(input: { email: $e, password: "brand-new-pass-9" }) { accessToken } }',
      { e: outsider.email },
    );
    expect(login.data?.login.accessToken).toBeTruthy();
    // email only: nothing in-app
    outsider.token = login.data!.login.accessToken;
    expect(await notificationsOf(url, outsider)).toEqual([]);
  });
});

describe('administration', () => {
  it('refuses the admin operations to others (PERM-001) and shows the queues to admins', async () => {
    for (const q of [
      '{ notificationQueues { name } }',
      'mutation { retryFailedNotifications(channel: "email", sinceMinutes: 60) }',
      'mutation { cleanupInvalidDeviceTokens }',
      'mutation { broadcastSystemNotification(message: "hi", level: "INFO") }',
    ]) {
      expect(errorCode(await as(member, q))).toBe('PERM-001');
      expect(errorCode(await gql(url, q))).toBe('AUTH-001');
    }
    const r = data<{
      notificationQueues: Array<{
        name: string;
        waiting: number;
        active: number;
        failed: number;
        delayed: number;
        completed: number;
      }>;
    }>(await gql(url, '{ notificationQueues { name waiting active failed delayed completed } }', {}, { token: adminToken }));
    expect(r.notificationQueues.map((q) => q.name)).toEqual(['email', 'push', 'notifications-schedule']);
    expect(r.notificationQueues[0]!.completed).toBeGreaterThan(0);
    expect(
      errorCode(
        await gql(url, 'mutation { retryFailedNotifications(channel: "fax", sinceMinutes: 60) }', {}, { token: adminToken }),
      ),
    ).toBe('API-002');
    const health = data<{ serviceHealth: Array<{ name: string; status: string; queues: Array<{ name: string }> }> }>(
      await gql(url, '{ serviceHealth { name status queues { name waiting active delayed } } }', {}, { token: adminToken }),
    ).serviceHealth.find((h) => h.name === 'notifications')!;
    expect(health.status).toBe('up');
    expect(health.queues.map((q) => q.name)).toEqual(['email', 'push', 'notifications-schedule']);
    const metrics = await (await fetch(`${stack.services.notifications!.base}/metrics`)).text();
    expect(metrics).toMatch(/notification_queue_jobs\{queue="email",state="completed"[^}]*\} [1-9]/);
  });
});
