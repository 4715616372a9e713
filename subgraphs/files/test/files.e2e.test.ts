import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import mongoose from 'mongoose';
import { TASK_PROJECT_PATH } from '@tm/kit/contracts';
import { INTERNAL_HEADER, signInternal } from '@tm/kit/infra';
import { errorCode } from '@tm/tools/testing/graphql';
import { registerUser, signInFirstAdmin, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';
import { EICAR } from '../src/scan/eicar.scanner';
import { UrlSigner, type UrlClaims } from '@tm/kit/storage';
import { data, FilesClient, PNG, streamEvents, waitFor } from './helpers';

/**
 * The files flow through the real gateway (users + projects + tasks + files), local storage served by
 * the files service, the built-in scanner, real Redis and the embedded store.
 */
const ADMIN_EMAIL = 'files.admin@example.com';
const ADMIN_PASSWORD = 'Files-admin-pass-42';
const URL_SECRET = randomBytes(32).toString('hex');
const MAX = 64 * 1024;
const QUOTA = 200 * 1024;

let stack: Stack;
let dir: string;
let files: FilesClient;
let redis: Redis;
let owner: TestUser, member: TestUser, viewer: TestUser, outsider: TestUser;
let admin: TestUser;
let projectId: string;
let taskId: string;

const as = (u: TestUser, q: string, v: Record<string, unknown> = {}) => files.as(u, q, v);
const objects = (sub = '') => {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  walk(path.join(dir, sub), sub ? `${sub}/` : '');
  return out;
};
const objectsOf = (fileId: string) => objects().filter((k) => k.includes(fileId));
async function newTask(p = projectId, title = 'Spec'): Promise<string> {
  return data<{ createTask: { id: string } }>(
    await as(member, 'mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }', { i: { projectId: p, title } }),
  ).createTask.id;
}
async function newProject(name: string): Promise<string> {
  const p = data<{ createProject: { id: string } }>(
    await as(owner, 'mutation($n: String!) { createProject(input: { name: $n }) { id } }', { n: name }),
  ).createProject.id;
  data(
    await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }', {
      p,
      u: member.id,
    }),
  );
  return p;
}
async function filesDb<T>(fn: (db: mongoose.Connection) => Promise<T>): Promise<T> {
  const conn = await mongoose.createConnection(stack.env.MONGO_URL!, { dbName: `${stack.env.MONGO_DB}_files` }).asPromise();
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tm-files-'));
  stack = await startStack('files_e2e', ['users', 'projects', 'tasks', 'files'], {
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    FILES_DIR: dir,
    FILES_URL_SECRET: URL_SECRET,
    FILES_MAX_BYTES: String(MAX),
    FILES_PROJECT_QUOTA_BYTES: String(QUOTA),
    FILES_SWEEP_MS: '300',
    FILES_ORPHAN_SWEEP_MS: '300',
    FILES_ORPHAN_GRACE_SECONDS: '0',
    FILES_SCAN_BACKOFF_MS: '100',
  });
  const url = stack.gateway.url;
  files = new FilesClient(url);
  [owner, member, viewer, outsider] = await Promise.all(['Olga', 'Max', 'Vera', 'Oscar'].map((n) => registerUser(url, n)));
  admin = { id: '', email: ADMIN_EMAIL, name: 'Admin', token: await signInFirstAdmin(stack, ADMIN_EMAIL, ADMIN_PASSWORD) };
  projectId = await newProject('Files');
  data(
    await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: VIEWER) { id } }', {
      p: projectId,
      u: viewer.id,
    }),
  );
  taskId = await newTask();
  redis = new Redis(stack.env.REDIS_URL!, { keyPrefix: stack.env.REDIS_PREFIX });
}, 180_000);

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('upload, scan, download', () => {
  it("takes a member's upload through SCANNING to CLEAN and serves it with Range and Content-Disposition", async () => {
    const body = Buffer.from('hello, files\n'.repeat(100));
    const live = new Redis(stack.env.REDIS_URL!);
    const messages: string[] = [];
    live.on('message', (_c, m: string) => messages.push(m));
    await live.subscribe(`${stack.env.REDIS_PREFIX}live:taskChanged:${projectId}`);
    try {
      const { id, put, complete } = await files.upload(member, taskId, 'notes ü.txt', body, 'text/plain');
      expect(put.status).toBe(200);
      expect(data<{ completeFileUpload: { status: string; size: number } }>(complete).completeFileUpload).toMatchObject({
        status: 'SCANNING',
        size: body.length,
      });
      const f = await files.settled(member, id, 'CLEAN');
      expect(f).toMatchObject({ name: 'notes ü.txt', size: body.length, contentType: 'text/plain' });
      expect(f.downloadUrl).toBeTruthy();
      const whole = await fetch(f.downloadUrl!);
      expect(whole.status).toBe(200);
      expect(whole.headers.get('content-disposition')).toBe(
        `attachment; filename="notes _.txt"; filename*=UTF-8''notes%20%C3%BC.txt`,
      );
      expect(whole.headers.get('content-type')).toBe('text/plain');
      expect(Buffer.from(await whole.arrayBuffer()).equals(body)).toBe(true);
      const part = await fetch(f.downloadUrl!, { headers: { range: 'bytes=7-11' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 7-11/${body.length}`);
      expect(await part.text()).toBe('files');
      expect((await fetch(f.downloadUrl!, { headers: { range: `bytes=${body.length + 5}-` } })).status).toBe(416);
      // viewers read and download too
      const seen = await files.file(viewer, id);
      expect(seen?.status).toBe('CLEAN');
      expect((await fetch(seen!.downloadUrl!)).status).toBe(200);
      // events on events:files and live board updates for the task
      await waitFor(
        async () => (await streamEvents(redis, 'events:files')).filter((e) => e.payload.fileId === id).length >= 2,
        'file events',
      );
      const types = (await streamEvents(redis, 'events:files')).filter((e) => e.payload.fileId === id).map((e) => e.type);
      expect(types).toEqual(['FileUploaded', 'FileScanned']);
      await waitFor(() => messages.length >= 2, 'live taskChanged');
      expect(JSON.parse(messages[0]!)).toMatchObject({ kind: 'UPDATED', taskId, projectId });
    } finally {
      live.disconnect();
    }
  }, 60_000);

  it('shows attachments on a page of tasks with one files query (no N+1)', async () => {
    const p = await newProject('Attachments');
    const tasks: string[] = [];
    for (let n = 0; n < 16; n++) tasks.push(await newTask(p, `T${n}`));
    for (const t of tasks.slice(0, 3)) {
      const { id } = await files.upload(member, t, `${t.slice(0, 4)}.png`, PNG, 'image/png');
      await files.settled(member, id, 'CLEAN');
    }
    const finds = async () => {
      const text = await (await fetch(`${stack.services.files!.base}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('mongodb_commands_total') && l.includes('command="find"'));
      return Number(line?.split(' ').pop() ?? 0);
    };
    const Q =
      'query($p: ID!) { project(id: $p) { tasks(first: 20) { edges { node { id attachments { name status uploadedBy { name } } } } } } }';
    const before = await finds();
    const res = data<{
      project: {
        tasks: {
          edges: Array<{
            node: { id: string; attachments: Array<{ name: string; status: string; uploadedBy: { name: string } }> };
          }>;
        };
      };
    }>(await as(member, Q, { p }));
    const after = await finds();
    const byTask = new Map(res.project.tasks.edges.map((e) => [e.node.id, e.node.attachments]));
    expect(byTask.size).toBe(16);
    for (const t of tasks.slice(0, 3))
      expect(byTask.get(t)).toEqual([{ name: `${t.slice(0, 4)}.png`, status: 'CLEAN', uploadedBy: { name: 'Max' } }]);
    for (const t of tasks.slice(3)) expect(byTask.get(t)).toEqual([]);
    // one find for the page (the background sweeps may add a few; one per task would be 16)
    expect(after - before).toBeLessThan(8);
  }, 60_000);
});

describe('live boards', () => {
  it('sends taskChanged UPDATED with the new attachment to a subscribed board', async () => {
    const p = await newProject('Live');
    const t = await newTask(p, 'Watched');
    const client = createClient({
      url: stack.gateway.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${owner.token}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
    });
    const seen: Array<{ kind: string; taskId: string; task: { attachments: Array<{ name: string; status: string }> } | null }> =
      [];
    const channel = `${stack.env.REDIS_PREFIX}live:taskChanged:${p}`;
    try {
      client.subscribe(
        {
          query: 'subscription($p: ID!) { taskChanged(projectId: $p) { kind taskId task { attachments { name status } } } }',
          variables: { p },
        },
        {
          next: (r) => void seen.push((r.data as { taskChanged: (typeof seen)[number] }).taskChanged),
          error: () => undefined,
          complete: () => undefined,
        },
      );
      // live once the gateway holds the Redis channel
      await waitFor(
        async () => Number(((await redis.pubsub('NUMSUB', channel)) as Array<string | number>)[1]) > 0,
        'the subscription to be live',
      );
      const { id } = await files.upload(member, t, 'live.png', PNG, 'image/png');
      await files.settled(member, id, 'CLEAN');
      await waitFor(
        () => seen.some((e) => e.task?.attachments.some((a) => a.status === 'CLEAN')),
        'a live update showing the clean attachment',
      );
      expect(seen.every((e) => e.kind === 'UPDATED' && e.taskId === t)).toBe(true);
      expect(seen.at(-1)!.task!.attachments).toEqual([{ name: 'live.png', status: 'CLEAN' }]);
    } finally {
      await client.dispose();
    }
  }, 60_000);
});

describe('refusals', () => {
  it('refuses oversized files, disallowed types and names that are paths (FILE-001)', async () => {
    const ask = (over: Record<string, unknown>) =>
      files.request(member, { taskId, name: 'a.txt', size: 10, contentType: 'text/plain', ...over } as never);
    const big = await ask({ size: MAX + 1 });
    expect(errorCode(big)).toBe('FILE-001');
    expect(big.errors![0]!.extensions!.field).toBe('size');
    expect(big.errors![0]!.message).toContain(String(MAX));
    const exe = await ask({ name: 'setup.exe', contentType: 'application/x-msdownload' });
    expect(errorCode(exe)).toBe('FILE-001');
    expect(exe.errors![0]!.extensions!.field).toBe('contentType');
    for (const name of ['../../etc/passwd', 'a/b.txt', 'C:\\x.txt', '..', ' ', 'x\u202Etxt.exe', 'nul\u0000.txt']) {
      const r = await ask({ name });
      expect([name, errorCode(r), r.errors?.[0]?.extensions?.field]).toEqual([name, 'FILE-001', 'name']);
    }
  });

  it('refuses a PUT larger than declared', async () => {
    const r = data<{ requestFileUpload: { uploadUrl: string; file: { id: string } } }>(
      await files.request(member, { taskId, name: 'small.txt', size: 10, contentType: 'text/plain' }),
    ).requestFileUpload;
    const put = await fetch(r.uploadUrl, { method: 'PUT', body: 'a'.repeat(100) });
    expect(put.status).toBe(413);
    expect(((await put.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe(
      'FILE-001',
    );
    expect(objectsOf(r.file.id)).toEqual([]);
  });

  it('refuses a type that lies, and removes the object and the record', async () => {
    const { id, put, complete } = await files.upload(
      member,
      taskId,
      'photo.png',
      Buffer.from('just some text pretending to be a picture'),
      'image/png',
    );
    expect(put.status).toBe(200);
    expect(errorCode(complete)).toBe('FILE-001');
    expect(complete.errors![0]!.message).toContain('not image/png');
    expect(objectsOf(id)).toEqual([]);
    expect(errorCode(await as(member, 'query($id: ID!) { file(id: $id) { id } }', { id }))).toBe('PERM-002');
    // and binary content declared as text
    const bin = await files.upload(member, taskId, 'notes.txt', PNG, 'text/plain');
    expect(errorCode(bin.complete)).toBe('FILE-001');
    expect(objectsOf(bin.id)).toEqual([]);
  });

  it('uses an upload URL once', async () => {
    const r = data<{ requestFileUpload: { uploadUrl: string } }>(
      await files.request(member, { taskId, name: 'once.txt', size: 5, contentType: 'text/plain' }),
    ).requestFileUpload;
    expect((await fetch(r.uploadUrl, { method: 'PUT', body: 'hello' })).status).toBe(200);
    const again = await fetch(r.uploadUrl, { method: 'PUT', body: 'evil!' });
    expect(again.status).toBe(403);
    expect(((await again.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe(
      'FILE-001',
    );
  });

  it('keeps each project within its quota (FILE-001 naming it), and gives space back on delete', async () => {
    const p = await newProject('Quota');
    const t = await newTask(p);
    const chunk = 60 * 1024;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = data<{ requestFileUpload: { file: { id: string } } }>(
        await files.request(member, { taskId: t, name: `q${i}.txt`, size: chunk, contentType: 'text/plain' }),
      );
      ids.push(r.requestFileUpload.file.id);
    }
    const full = await files.request(member, { taskId: t, name: 'q3.txt', size: chunk, contentType: 'text/plain' });
    expect(errorCode(full)).toBe('FILE-001');
    expect(full.errors![0]!.message).toContain(`quota of ${QUOTA} bytes`);
    expect(full.errors![0]!.message).toContain(`${3 * chunk} bytes used`);
    expect(full.errors![0]!.extensions!.field).toBe('size');
    expect(data(await as(member, 'mutation($id: ID!) { deleteFile(fileId: $id) }', { id: ids[0] }))).toEqual({
      deleteFile: true,
    });
    expect(
      errorCode(await files.request(member, { taskId: t, name: 'q3.txt', size: chunk, contentType: 'text/plain' })),
    ).toBeUndefined();
    // a counter that drifted (a crash between two steps) is set back to the files' sum by the sweep
    const usage = () =>
      filesDb(async (db) => (await db.collection('projectUsage').findOne({ _id: p as never }))?.bytes as number);
    const right = await usage();
    await filesDb((db) => db.collection('projectUsage').updateOne({ _id: p as never }, { $set: { bytes: QUOTA } }));
    await waitFor(async () => (await usage()) === right, 'the quota counter to be corrected');
  });
});

describe('permissions', () => {
  it('lets no outsider upload or read, and no viewer upload or delete', async () => {
    const req = { taskId, name: 'x.txt', size: 5, contentType: 'text/plain' };
    expect(errorCode(await files.request(outsider, req))).toBe('PERM-002');
    expect(errorCode(await files.request(viewer, req))).toBe('PERM-001');
    expect(errorCode(await files.request(member, { ...req, taskId: randomUUID() }))).toBe('PERM-002');
    const { id } = await files.upload(member, taskId, 'secret.txt', Buffer.from('for members only'), 'text/plain');
    const f = await files.settled(member, id, 'CLEAN');
    expect(errorCode(await as(outsider, 'query($id: ID!) { file(id: $id) { id } }', { id }))).toBe('PERM-002');
    expect(errorCode(await as(outsider, 'query($id: ID!) { task(id: $id) { attachments { id } } }', { id: taskId }))).toBe(
      'PERM-002',
    );
    expect(errorCode(await as(viewer, 'mutation($id: ID!) { deleteFile(fileId: $id) }', { id }))).toBe('PERM-001');
    expect(errorCode(await as(outsider, 'mutation($id: ID!) { deleteFile(fileId: $id) }', { id }))).toBe('PERM-002');
    // a download URL made out to someone who is not a member (correctly signed): FILE-002
    const signer = new UrlSigner(URL_SECRET);
    const token = new URL(f.downloadUrl!).searchParams.get('t')!;
    const claims = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as UrlClaims;
    const forOutsider = new URL(f.downloadUrl!);
    forOutsider.searchParams.set('t', signer.sign({ ...(claims as UrlClaims), userId: outsider.id }));
    const res = await fetch(forOutsider);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe(
      'FILE-002',
    );
  });

  it('refuses expired and tampered URLs (FILE-002 for downloads, FILE-001 for uploads)', async () => {
    const { id } = await files.upload(member, taskId, 'doc.txt', Buffer.from('some document'), 'text/plain');
    const f = await files.settled(member, id, 'CLEAN');
    const code = async (r: Response) =>
      ((await r.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code;
    const url = new URL(f.downloadUrl!);
    const [body, mac] = url.searchParams.get('t')!.split('.');
    const claims = JSON.parse(Buffer.from(body!, 'base64url').toString()) as UrlClaims;
    // another user's id (or a later expiry) without the key: the mac no longer matches
    for (const change of [
      { userId: outsider.id },
      { exp: Date.now() + 3_600_000 },
      { key: `files/${projectId}/${randomUUID()}` },
    ]) {
      const forged = new URL(url);
      forged.searchParams.set('t', `${Buffer.from(JSON.stringify({ ...claims, ...change })).toString('base64url')}.${mac}`);
      const r = await fetch(forged);
      expect([r.status, await code(r)]).toEqual([403, 'FILE-002']);
    }
    const garbage = new URL(url);
    garbage.searchParams.set('t', 'nonsense');
    expect(await code(await fetch(garbage))).toBe('FILE-002');
    // expired: signed with the right key, but past its time
    const expired = new URL(url);
    expired.searchParams.set('t', new UrlSigner(URL_SECRET).sign({ ...(claims as UrlClaims), exp: Date.now() - 1000 }));
    const old = await fetch(expired);
    expect([old.status, await code(old)]).toEqual([410, 'FILE-002']);
    // an expired upload URL
    const up = data<{ requestFileUpload: { uploadUrl: string } }>(
      await files.request(member, { taskId, name: 'late.txt', size: 4, contentType: 'text/plain' }),
    ).requestFileUpload;
    const upUrl = new URL(up.uploadUrl);
    const upClaims = JSON.parse(Buffer.from(upUrl.searchParams.get('t')!.split('.')[0]!, 'base64url').toString()) as UrlClaims;
    upUrl.searchParams.set('t', new UrlSigner(URL_SECRET).sign({ ...(upClaims as UrlClaims), exp: Date.now() - 1000 }));
    const late = await fetch(upUrl, { method: 'PUT', body: 'late' });
    expect([late.status, await code(late)]).toEqual([403, 'FILE-001']);
  });
});

describe('scanning', () => {
  it('finds EICAR: INFECTED, quarantined, never downloadable, the uploader told through an event', async () => {
    const { id, complete } = await files.upload(member, taskId, 'eicar.txt', Buffer.from(EICAR), 'text/plain');
    expect(data<{ completeFileUpload: { status: string } }>(complete).completeFileUpload.status).toBe('SCANNING');
    const f = await files.settled(member, id, 'INFECTED');
    expect(f.downloadUrl).toBeNull();
    expect(objectsOf(id)).toEqual([`quarantine/${projectId}/${id}`]);
    await waitFor(
      async () => (await streamEvents(redis, 'events:files')).some((e) => e.type === 'FileInfected' && e.payload.fileId === id),
      'FileInfected',
    );
    const infected = (await streamEvents(redis, 'events:files')).find(
      (e) => e.type === 'FileInfected' && e.payload.fileId === id,
    )!;
    expect(infected.payload).toMatchObject({ uploadedById: member.id, taskId, projectId, signature: 'Eicar-Test-Signature' });
  });

  it('ADMIN markFileScanned quarantines a file whose URL was issued (FILE-003), rescanFile scans again; both audited', async () => {
    const { id } = await files.upload(member, taskId, 'later.txt', Buffer.from('fine at first'), 'text/plain');
    const f = await files.settled(member, id, 'CLEAN');
    expect(
      errorCode(await as(member, 'mutation($id: ID!) { markFileScanned(fileId: $id, status: INFECTED) { id } }', { id })),
    ).toBe('PERM-001');
    const marked = data<{ markFileScanned: { status: string } }>(
      await as(admin, 'mutation($id: ID!) { markFileScanned(fileId: $id, status: INFECTED) { status } }', { id }),
    );
    expect(marked.markFileScanned.status).toBe('INFECTED');
    const r = await fetch(f.downloadUrl!);
    expect(r.status).toBe(403);
    expect(((await r.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('FILE-003');
    const again = data<{ rescanFile: { status: string } }>(
      await as(admin, 'mutation($id: ID!) { rescanFile(fileId: $id) { status } }', { id }),
    );
    expect(again.rescanFile.status).toBe('SCANNING');
    expect((await files.settled(member, id, 'CLEAN')).downloadUrl).toBeTruthy();
    expect(objectsOf(id)).toEqual([`files/${projectId}/${id}`]);
    const audit = await filesDb((db) =>
      db
        .collection('auditRecords')
        .find({ action: { $in: ['markFileScanned', 'rescanFile'] } })
        .toArray(),
    );
    expect(audit.map((a) => [a.action, a.result])).toEqual(
      expect.arrayContaining([
        ['markFileScanned', 'ok'],
        ['rescanFile', 'ok'],
      ]),
    );
  });
});

describe('cleanup', () => {
  it('deleteFile removes the record and every stored object', async () => {
    const { id } = await files.upload(member, taskId, 'gone.txt', Buffer.from('short-lived'), 'text/plain');
    await files.settled(member, id, 'CLEAN');
    expect(objectsOf(id)).toHaveLength(1);
    expect(data(await as(member, 'mutation($id: ID!) { deleteFile(fileId: $id) }', { id }))).toEqual({ deleteFile: true });
    expect(objectsOf(id)).toEqual([]);
    expect(errorCode(await as(member, 'query($id: ID!) { file(id: $id) { id } }', { id }))).toBe('PERM-002');
    await waitFor(
      async () => (await streamEvents(redis, 'events:files')).some((e) => e.type === 'FileDeleted' && e.payload.fileId === id),
      'FileDeleted',
    );
  });

  it('deleting a task removes its files (events:tasks consumer)', async () => {
    const t = await newTask(projectId, 'Doomed');
    const ids: string[] = [];
    for (const n of ['a.txt', 'b.txt']) {
      const { id } = await files.upload(member, t, n, Buffer.from(`content of ${n}`), 'text/plain');
      ids.push(id);
    }
    await Promise.all(ids.map((id) => files.settled(member, id)));
    data(await as(member, 'mutation($id: ID!) { deleteTask(id: $id) }', { id: t }));
    await waitFor(() => ids.every((id) => objectsOf(id).length === 0), 'files of the deleted task removed');
    await waitFor(
      async () =>
        (await filesDb((db) => db.collection('files').countDocuments({ _id: { $in: ids } as never, deletedAt: null }))) === 0,
      'records removed',
    );
  }, 60_000);

  it('sweeps pending uploads past their expiry and orphan objects', async () => {
    const r = data<{ requestFileUpload: { uploadUrl: string; file: { id: string } } }>(
      await files.request(member, { taskId, name: 'never.txt', size: 4, contentType: 'text/plain' }),
    ).requestFileUpload;
    expect((await fetch(r.uploadUrl, { method: 'PUT', body: 'half' })).status).toBe(200);
    await filesDb((db) =>
      db.collection('files').updateOne({ _id: r.file.id as never }, { $set: { expiresAt: new Date(Date.now() - 1000) } }),
    );
    await waitFor(
      async () => (await filesDb((db) => db.collection('files').countDocuments({ _id: r.file.id as never }))) === 0,
      'expired upload swept',
    );
    expect(objectsOf(r.file.id)).toEqual([]);
    const stray = `files/${projectId}/${randomUUID()}`;
    mkdirSync(path.dirname(path.join(dir, stray)), { recursive: true });
    writeFileSync(path.join(dir, stray), 'nobody owns me');
    await waitFor(() => !existsSync(path.join(dir, stray)), 'orphan removed');
    const metrics = await (await fetch(`${stack.services.files!.base}/metrics`)).text();
    expect(metrics).toMatch(/files_orphans_removed_total\{[^}]*\} [1-9]/);
  }, 60_000);
});

describe('task directory', () => {
  it("tasks answers a task's project only to signed requests, and not for deleted tasks", async () => {
    const gone = await newTask(projectId, 'Gone');
    data(await as(member, 'mutation($id: ID!) { deleteTask(id: $id) }', { id: gone }));
    const path = `${TASK_PROJECT_PATH}?ids=${taskId},${gone},${randomUUID()}`;
    const base = stack.services.tasks!.base;
    expect((await fetch(`${base}${path}`)).status).toBe(401);
    const signed = await fetch(`${base}${path}`, {
      headers: { [INTERNAL_HEADER]: signInternal('tasks', path, stack.env.INTERNAL_SECRET!) },
    });
    expect(await signed.json()).toEqual({ tasks: [{ id: taskId, projectId }] });
    const other = `${TASK_PROJECT_PATH}?ids=${taskId}`;
    const forProjects = await fetch(`${base}${other}`, {
      headers: { [INTERNAL_HEADER]: signInternal('projects', other, stack.env.INTERNAL_SECRET!) },
    });
    expect(forProjects.status).toBe(401);
    const bad = `${TASK_PROJECT_PATH}?ids=not-an-id`;
    expect(
      (await fetch(`${base}${bad}`, { headers: { [INTERNAL_HEADER]: signInternal('tasks', bad, stack.env.INTERNAL_SECRET!) } }))
        .status,
    ).toBe(400);
  });
});

describe('health', () => {
  it('reports the scanner and the scan queue in /ready and metrics', async () => {
    const ready = (await (await fetch(`${stack.services.files!.base}/ready`)).json()) as Record<string, unknown>;
    expect(ready).toMatchObject({
      status: 'ready',
      dependencies: { mongo: 'up', redis: 'up', storage: 'up', scanner: 'up' },
      scanner: { name: 'eicar', status: 'up' },
    });
    expect((ready as Record<string, unknown>).scanQueue).toEqual(
      expect.objectContaining({ waiting: expect.any(Number), active: expect.any(Number), delayed: expect.any(Number) }),
    );
    const metrics = await (await fetch(`${stack.services.files!.base}/metrics`)).text();
    expect(metrics).toMatch(/files_scanner_up\{[^}]*scanner="eicar"[^}]*\} 1/);
    expect(metrics).toContain('files_scan_queue_jobs');
    const health = data<{ serviceHealth: Array<{ name: string; ready: boolean; dependencies: unknown[]; queues: unknown[] }> }>(
      await as(admin, '{ serviceHealth { name ready dependencies { name status } queues { name waiting active delayed } } }'),
    );
    const files = health.serviceHealth.find((s) => s.name === 'files');
    expect(files).toEqual({
      name: 'files',
      ready: true,
      dependencies: expect.arrayContaining([
        { name: 'scanner', status: 'up' },
        { name: 'storage', status: 'up' },
        { name: 'mongo', status: 'up' },
      ]),
      queues: [{ name: 'scan', waiting: expect.any(Number), active: expect.any(Number), delayed: expect.any(Number) }],
    });
    const Q = '{ fileScanStatus { scanner scannerUp waiting active delayed } }';
    expect(errorCode(await as(member, Q))).toBe('PERM-001');
    expect(data<{ fileScanStatus: unknown }>(await as(admin, Q)).fileScanStatus).toEqual({
      scanner: 'eicar',
      scannerUp: true,
      waiting: 0,
      active: 0,
      delayed: 0,
    });
  });
});
