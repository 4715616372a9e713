import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testEnv } from '@tm/tools/testing/env';
import { gql } from '@tm/tools/testing/graphql';
import { Cleanup, REPO_ROOT, spawnService, type ServiceProcess } from '@tm/tools/testing/processes';

/** The gateway follows the supergraph file: a new one is served without a restart, a broken one is ignored. */
const cleanup = new Cleanup();
const dir = mkdtempSync(path.join(tmpdir(), 'tm-supergraph-'));
const file = path.join(dir, 'supergraph.graphql');
let gateway: ServiceProcess;

const QUERY_FIELDS = '{ __type(name: "Query") { fields { name } } }';

async function queryFields(): Promise<string[]> {
  const res = await gql<{ __type: { fields: Array<{ name: string }> } }>(gateway.url, QUERY_FIELDS);
  return res.data!.__type.fields.map((f) => f.name).sort();
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

beforeAll(async () => {
  copyFileSync(path.join(REPO_ROOT, 'schema/supergraph.graphql'), file);
  gateway = await spawnService('gateway', 'gateway/dist/main.js', { ...testEnv('reload'), SUPERGRAPH_PATH: file });
  cleanup.add(() => gateway.stop());
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
}, 60_000);

afterAll(() => cleanup.run());

it('serves a changed supergraph without a restart, and keeps the running one when the file is broken', async () => {
  const before = await queryFields();
  expect(before).toEqual(expect.arrayContaining(['me', 'user']));
  const original = readFileSync(file, 'utf8');
  const withoutUser = original.replace(/\n\s+user\(id: ID!\): User[^\n]*/, '');
  expect(withoutUser).not.toBe(original);
  writeFileSync(file, withoutUser);
  const expected = before.filter((f) => f !== 'user').join();
  expect(await eventually(async () => (await queryFields()).join() === expected)).toBe(true);

  writeFileSync(file, 'this is not a supergraph');
  await new Promise((r) => setTimeout(r, 1000));
  expect((await queryFields()).join()).toBe(expected);
  expect(gateway.child.exitCode).toBeNull();
});
