import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startClamd, type Clamd } from '@tm/tools/testing/clamd';
import { registerUser, signInFirstAdmin, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';
import { EICAR } from '../src/scan/eicar.scanner';
import { data, FilesClient, waitFor } from './helpers';
import { ScanProxy } from './scan-proxy';

/**
 * Scanning through the gateway with ClamAV (CLAMAV_HOST): a real clamd behind a proxy the tests
 * steer, so scans can time out and the scanner can go away and come back.
 */
const ADMIN_EMAIL = 'files.scan.admin@example.com';
const ADMIN_PASSWORD = 'Files-scan-admin-42';

let clamd: Clamd;
let proxy: ScanProxy;
let stack: Stack;
let dir: string;
let files: FilesClient;
let member: TestUser;
let admin: TestUser;
let taskId: string;

const metric = async (name: string, label: string): Promise<number> => {
  const text = await (await fetch(`${stack.services.files!.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(label));
  return Number(line?.split(' ').pop() ?? 0);
};
const ready = async () =>
  (await (await fetch(`${stack.services.files!.base}/ready`)).json()) as {
    status: string;
    scanner: { name: string; status: string };
  };

beforeAll(async () => {
  clamd = await startClamd();
  proxy = new ScanProxy(clamd);
  await proxy.up();
  dir = mkdtempSync(path.join(tmpdir(), 'tm-files-scan-'));
  stack = await startStack('files_scan', ['users', 'projects', 'tasks', 'files'], {
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    FILES_DIR: dir,
    CLAMAV_HOST: '127.0.0.1',
    CLAMAV_PORT: String(proxy.port),
    CLAMAV_TIMEOUT_MS: '20000',
    FILES_SCAN_TIMEOUT_MS: '1500',
    FILES_SCAN_ATTEMPTS: '3',
    FILES_SCAN_BACKOFF_MS: '100',
    FILES_SCANNER_RETRY_MS: '200',
  });
  files = new FilesClient(stack.gateway.url);
  member = await registerUser(stack.gateway.url, 'Mia');
  admin = { id: '', email: ADMIN_EMAIL, name: 'Admin', token: await signInFirstAdmin(stack, ADMIN_EMAIL, ADMIN_PASSWORD) };
  const projectId = data<{ createProject: { id: string } }>(
    await files.as(member, 'mutation { createProject(input: { name: "Scans" }) { id } }'),
  ).createProject.id;
  taskId = data<{ createTask: { id: string } }>(
    await files.as(member, 'mutation($p: ID!) { createTask(input: { projectId: $p, title: "Scan me" }) { id } }', {
      p: projectId,
    }),
  ).createTask.id;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await proxy?.down();
  await clamd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 90_000);

it('scans with clamd: clean is CLEAN, EICAR is INFECTED', async () => {
  const clean = await files.upload(member, taskId, 'ok.txt', Buffer.from('nothing to see'), 'text/plain');
  expect((await files.settled(member, clean.id)).status).toBe('CLEAN');
  const bad = await files.upload(member, taskId, 'eicar.com.txt', Buffer.from(EICAR), 'text/plain');
  const f = await files.settled(member, bad.id);
  expect([f.status, f.downloadUrl]).toEqual(['INFECTED', null]);
  expect((await ready()).scanner).toEqual({ name: 'clamav', status: 'up' });
}, 90_000);

it('retries a scan that timed out', async () => {
  proxy.mode = 'hang-scans';
  const before = proxy.scans;
  const timeouts = await metric('files_scans_total', 'result="timeout"');
  const { id } = await files.upload(member, taskId, 'slow.txt', Buffer.from('a slow scan'), 'text/plain');
  await waitFor(async () => (await metric('files_scans_total', 'result="timeout"')) > timeouts, 'a scan to time out');
  expect((await files.file(member, id))!.status).toBe('SCANNING');
  proxy.mode = 'pass';
  expect((await files.settled(member, id)).status).toBe('CLEAN');
  expect(proxy.scans - before).toBeGreaterThanOrEqual(2);
}, 90_000);

it('marks a file FAILED when every attempt times out; rescanFile scans it again', async () => {
  proxy.mode = 'hang-scans';
  const { id } = await files.upload(member, taskId, 'stuck.txt', Buffer.from('never answered'), 'text/plain');
  expect((await files.settled(member, id, 'FAILED', 60_000)).downloadUrl).toBeNull();
  proxy.mode = 'pass';
  const again = data<{ rescanFile: { status: string } }>(
    await files.as(admin, 'mutation($id: ID!) { rescanFile(fileId: $id) { status } }', { id }),
  );
  expect(again.rescanFile.status).toBe('SCANNING');
  expect((await files.settled(member, id)).status).toBe('CLEAN');
}, 90_000);

it('keeps files SCANNING while the scanner is down, and scans them when it is back', async () => {
  await proxy.down();
  await waitFor(async () => (await ready()).scanner.status === 'down', 'readiness to report the scanner down');
  expect((await ready()).status).toBe('ready'); // uploads and downloads go on
  const waits = await metric('files_scans_total', 'result="scanner_down"');
  const { id, complete } = await files.upload(member, taskId, 'patient.txt', Buffer.from('waiting for clamd'), 'text/plain');
  expect(complete.errors).toBeUndefined();
  await waitFor(
    async () => (await metric('files_scans_total', 'result="scanner_down"')) >= waits + 3,
    'the scan to wait for the scanner',
  );
  expect((await files.file(member, id))!.status).toBe('SCANNING');
  expect(await metric('files_scanner_up', 'scanner="clamav"')).toBe(0);
  // on call, serviceHealth says so too
  const health = await files.as(admin, '{ serviceHealth { name dependencies { name status } } }');
  const entry = (
    health.data as { serviceHealth: Array<{ name: string; dependencies: Array<{ name: string; status: string }> }> }
  ).serviceHealth.find((s) => s.name === 'files');
  expect(entry?.dependencies).toContainEqual({ name: 'scanner', status: 'down' });
  await proxy.up();
  expect((await files.settled(member, id)).status).toBe('CLEAN');
  expect((await ready()).scanner.status).toBe('up');
}, 90_000);
