import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { errorCode } from '@tm/tools/testing/graphql';
import { motoBucket, startMoto, type Moto } from '@tm/tools/testing/moto';
import { registerUser, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';
import { EICAR } from '../src/scan/eicar.scanner';
import { data, FilesClient, PNG } from './helpers';

/** The files flow through the gateway on the S3 adapter (moto's S3 server): presigned PUT and GET. */
const BUCKET = 'tm-files-e2e';
let moto: Moto;
let s3: S3Client;
let stack: Stack;
let files: FilesClient;
let member: TestUser;
let outsider: TestUser;
let projectId: string;
let taskId: string;

async function keys(): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}
const keysOf = async (id: string) => (await keys()).filter((k) => k.endsWith(id));

beforeAll(async () => {
  moto = await startMoto();
  const bucket = await motoBucket(moto, BUCKET);
  s3 = bucket.s3;
  stack = await startStack('files_s3', ['users', 'projects', 'tasks', 'files'], {
    ...bucket.env,
    FILES_STORAGE: 's3',
    FILES_MAX_BYTES: String(64 * 1024),
  });
  files = new FilesClient(stack.gateway.url);
  [member, outsider] = await Promise.all(['Sam', 'Otto'].map((n) => registerUser(stack.gateway.url, n)));
  projectId = data<{ createProject: { id: string } }>(
    await files.as(member, 'mutation { createProject(input: { name: "S3" }) { id } }'),
  ).createProject.id;
  taskId = data<{ createTask: { id: string } }>(
    await files.as(member, 'mutation($p: ID!) { createTask(input: { projectId: $p, title: "On S3" }) { id } }', { p: projectId }),
  ).createTask.id;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  s3?.destroy();
  await moto?.stop();
});

it('uploads straight to the bucket, scans, and downloads with Range and Content-Disposition', async () => {
  const { id, put } = await files.upload(member, taskId, 'pixel.png', PNG, 'image/png');
  expect(put.status).toBe(200);
  const f = await files.settled(member, id, 'CLEAN');
  expect(await keysOf(id)).toEqual([`files/${projectId}/${id}`]);
  const whole = await fetch(f.downloadUrl!);
  expect(whole.status).toBe(200);
  expect(whole.headers.get('content-disposition')).toBe('attachment; filename="pixel.png"; filename*=UTF-8\'\'pixel.png');
  expect(Buffer.from(await whole.arrayBuffer()).equals(PNG)).toBe(true);
  const part = await fetch(f.downloadUrl!, { headers: { range: 'bytes=1-3' } });
  expect([part.status, await part.text()]).toEqual([206, 'PNG']);
  expect(errorCode(await files.as(outsider, 'query($id: ID!) { file(id: $id) { downloadUrl } }', { id }))).toBe('PERM-002');
  // the URL is the files service's, checked there, then a short redirect to the bucket
  const gated = new URL(f.downloadUrl!);
  expect(gated.origin).toBe(stack.services.files!.base);
  const hop = await fetch(gated, { redirect: 'manual' });
  expect(hop.status).toBe(302);
  expect(new URL(hop.headers.get('location')!).origin).toBe(new URL(moto.endpoint).origin);
  // tampered: FILE-002 from the service, whatever the bucket would have said
  const tampered = new URL(gated);
  const t = tampered.searchParams.get('t')!;
  tampered.searchParams.set('t', t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A'));
  const refused = await fetch(tampered, { redirect: 'manual' });
  expect(refused.status).toBe(403);
  expect(((await refused.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe(
    'FILE-002',
  );
});

it('refuses a type that lies and removes the object', async () => {
  const { id, complete } = await files.upload(member, taskId, 'fake.png', Buffer.from('plain text, not a picture'), 'image/png');
  expect(errorCode(complete)).toBe('FILE-001');
  expect(await keysOf(id)).toEqual([]);
});

it('quarantines EICAR', async () => {
  const { id } = await files.upload(member, taskId, 'eicar.txt', Buffer.from(EICAR), 'text/plain');
  expect((await files.settled(member, id)).status).toBe('INFECTED');
  expect(await keysOf(id)).toEqual([`quarantine/${projectId}/${id}`]);
});

it('deleteFile leaves no object behind', async () => {
  const { id } = await files.upload(member, taskId, 'bye.txt', Buffer.from('to be deleted'), 'text/plain');
  await files.settled(member, id, 'CLEAN');
  expect(data(await files.as(member, 'mutation($id: ID!) { deleteFile(fileId: $id) }', { id }))).toEqual({ deleteFile: true });
  expect(await keysOf(id)).toEqual([]);
});
