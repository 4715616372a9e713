import { testEnv } from '@tm/tools/testing/env';
import { errorCode, gql } from '@tm/tools/testing/graphql';
import { Cleanup, spawnService, type ServiceProcess } from '@tm/tools/testing/processes';

/** Production settings are explicit, not Apollo's NODE_ENV defaults. */
const cleanup = new Cleanup();
let prod: ServiceProcess;
let dev: ServiceProcess;

beforeAll(async () => {
  prod = await spawnService('gateway', 'gateway/dist/main.js', testEnv('prod', { NODE_ENV: 'production' }));
  cleanup.add(() => prod.stop());
  dev = await spawnService('gateway', 'gateway/dist/main.js', testEnv('dev', { NODE_ENV: 'development' }));
  cleanup.add(() => dev.stop());
}, 60_000);

afterAll(() => cleanup.run());

it('turns introspection and the Explorer landing page off in production, on in development', async () => {
  const q = '{ __schema { queryType { name } } }';
  expect(errorCode(await gql(prod.url, q))).toBe('API-002');
  expect((await gql(dev.url, q)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });

  const page = (url: string) =>
    fetch(url, { headers: { accept: 'text/html' } }).then(async (r) => ({ status: r.status, text: await r.text() }));
  const devPage = await page(dev.url);
  expect(devPage.status).toBe(200);
  expect(devPage.text).toMatch(/embeddable-explorer|apollo/i);
  const prodPage = await page(prod.url);
  expect(prodPage.text).not.toMatch(/embeddable-explorer/i);
});

it('never sends stack traces, even for unexpected errors', async () => {
  const res = await gql(prod.url, '{ me { id } }', {}, { token: 'a.b.c' });
  expect(errorCode(res)).toBe('AUTH-002');
  expect(JSON.stringify(res)).not.toMatch(/stacktrace|at .*\.js:\d+/);
});
