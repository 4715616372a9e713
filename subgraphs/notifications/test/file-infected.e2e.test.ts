import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { registerUser, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';
import { as as asOn, data, notificationsOf, waitFor } from './helpers';

/** A file found infected (files' built-in scanner, through the gateway): its uploader is told, nobody else. */
let stack: Stack;
let url: string;
let owner: TestUser, uploader: TestUser;
let dir: string;
const as = (u: TestUser, q: string, v: Record<string, unknown> = {}) => asOn(url, u, q, v);
// the standard antivirus test file, in parts so that no scanner flags this source
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}', '$EICAR-STANDARD-ANTIVIRUS-', 'TEST-FILE!$H+H*'].join('');

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tm-notif-files-'));
  stack = await startStack('notif_files', ['users', 'projects', 'tasks', 'files', 'notifications'], {
    FILES_DIR: dir,
    NOTIFY_POLL_MS: '100',
  });
  url = stack.gateway.url;
  [owner, uploader] = await Promise.all(['Olga', 'Uma'].map((n) => registerUser(url, n)));
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('tells the uploader of an infected file', async () => {
  const projectId = data<{ createProject: { id: string } }>(
    await as(owner, 'mutation { createProject(input: { name: "Files" }) { id } }'),
  ).createProject.id;
  data(
    await as(owner, 'mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, userId: $u, role: MEMBER) { id } }', {
      p: projectId,
      u: uploader.id,
    }),
  );
  const taskId = data<{ createTask: { id: string } }>(
    await as(owner, 'mutation($p: ID!) { createTask(input: { projectId: $p, title: "Scan me" }) { id } }', { p: projectId }),
  ).createTask.id;
  const body = Buffer.from(EICAR);
  const req = data<{ requestFileUpload: { uploadUrl: string; file: { id: string } } }>(
    await as(uploader, 'mutation($i: RequestFileUploadInput!) { requestFileUpload(input: $i) { uploadUrl file { id } } }', {
      i: { taskId, name: 'eicar.txt', size: body.length, contentType: 'text/plain' },
    }),
  ).requestFileUpload;
  expect(
    (await fetch(req.uploadUrl, { method: 'PUT', body: new Uint8Array(body), headers: { 'content-type': 'text/plain' } })).ok,
  ).toBe(true);
  await as(uploader, 'mutation($id: ID!) { completeFileUpload(fileId: $id) { id } }', { id: req.file.id });
  await waitFor(
    async () => (await notificationsOf(url, uploader)).some((n) => n.kind === 'FILE_INFECTED'),
    'the infected-file notification',
  );
  const n = (await notificationsOf(url, uploader)).find((x) => x.kind === 'FILE_INFECTED')!;
  expect(n).toMatchObject({
    title: 'A file you uploaded was found infected',
    body: 'It was quarantined and cannot be downloaded.',
  });
  expect((await notificationsOf(url, owner)).filter((x) => x.kind === 'FILE_INFECTED')).toEqual([]);
});
