import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@tm/kit/infra';
import { localStorageHandler, LocalStorage, UrlSigner } from '@tm/kit/storage';
import { storageSuite } from './storage.suite';

/** The local-directory adapter, its URLs served over real HTTP the way the files service serves them. */
const dir = mkdtempSync(path.join(tmpdir(), 'tm-storage-'));
const signer = new UrlSigner(randomBytes(32).toString('hex'));
let base = '';
const storage = new LocalStorage(dir, () => base, signer);
const used = new Set<string>();
const handler = localStorageHandler(
  storage,
  signer,
  {
    // the service keeps these in Redis; here the adapter alone is under test
    upload: { claimOnce: async (nonce) => !used.has(nonce) && !!used.add(nonce), beforeUpload: async () => undefined },
    beforeDownload: async () => undefined,
  },
  createLogger('storage-test', 'silent'),
);
const server = http.createServer((req, res) => {
  void handler(req, res, 'test').then((handled) => {
    if (!handled) res.writeHead(404).end();
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

storageSuite('local', () => storage);

it('keeps keys inside its directory', () => {
  expect(() => storage.pathOf('../../etc/passwd')).toThrow('invalid storage key');
  expect(() => storage.pathOf('files/../../x')).toThrow('invalid storage key');
});

it('answers browsers: CORS preflight and headers on the signed URLs', async () => {
  const pre = await fetch(`${base}/storage/upload?t=x`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT' },
  });
  expect(pre.status).toBe(204);
  expect(pre.headers.get('access-control-allow-origin')).toBe('*');
  expect(pre.headers.get('access-control-allow-methods')).toBe('PUT');
  const refused = await fetch(`${base}/storage/download?t=x`, { headers: { origin: 'https://app.example.com' } });
  expect(refused.status).toBe(403);
  expect(refused.headers.get('access-control-allow-origin')).toBe('*');
});
