import { testEnv } from '@tm/tools/testing/env';
import { gql } from '@tm/tools/testing/graphql';
import { Cleanup, spawnService, type ServiceProcess } from '@tm/tools/testing/processes';
import { freePort } from '@tm/tools/net';

/**
 * `/metrics` is not public (METRICS_PORT: its own listener; METRICS_TOKEN: bearer token; in
 * production with neither: not served), and `graphql_operations_total` cannot be grown by clients
 * choosing operation names (METRICS_MAX_OPERATION_NAMES; refused requests are `other`).
 */
const cleanup = new Cleanup();
const TOKEN = 'metrics-token-0123456789abcdef';
let gateway: ServiceProcess;
let metricsBase: string;
let prod: ServiceProcess;

beforeAll(async () => {
  const metricsPort = await freePort();
  metricsBase = `http://127.0.0.1:${metricsPort}`;
  gateway = await spawnService(
    'gateway',
    'gateway/dist/main.js',
    testEnv('metrics', {
      METRICS_PORT: String(metricsPort),
      METRICS_TOKEN: TOKEN,
      METRICS_MAX_OPERATION_NAMES: '3',
      // 10 requests a minute per client, no burst: the rest are refused (API-001)
      RATE_LIMIT_PER_MINUTE: '10',
      RATE_LIMIT_BURST: '0',
    }),
  );
  cleanup.add(() => gateway.stop());
  prod = await spawnService('gateway', 'gateway/dist/main.js', testEnv('metrics_prod', { NODE_ENV: 'production' }));
  cleanup.add(() => prod.stop());
}, 90_000);

afterAll(() => cleanup.run());

const scrape = async () => {
  const res = await fetch(`${metricsBase}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
};

it('serves /metrics only on METRICS_PORT, and there only with the token', async () => {
  expect((await fetch(`${gateway.base}/metrics`)).status).toBe(404);
  expect((await fetch(`${gateway.base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  expect((await fetch(`${metricsBase}/metrics`)).status).toBe(401);
  expect((await fetch(`${metricsBase}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(
    401,
  );
  expect(await scrape()).toMatch(/^http_requests_total\{/m);
  // nothing else on the metrics port
  expect((await fetch(`${metricsBase}/graphql`, { method: 'POST' })).status).toBe(404);
  expect((await fetch(`${metricsBase}/health`)).status).toBe(404);
});

it('does not serve /metrics in production without METRICS_PORT or METRICS_TOKEN', async () => {
  expect((await fetch(`${prod.base}/metrics`)).status).toBe(404);
  expect((await fetch(`${prod.base}/health`)).status).toBe(200);
});

it('labels operations by name only for names that succeeded, up to the cap; the rest and refused ones are "other"', async () => {
  const op = (name: string) => gql(gateway.url, `query ${name} { __typename }`);
  // 10 allowed this minute: five distinct names succeed, the cap (3) keeps the first three
  for (let i = 1; i <= 5; i++) expect((await op(`Known${i}`)).errors).toBeUndefined();
  for (let i = 1; i <= 5; i++) expect((await op(`Late${i}`)).errors).toBeUndefined();
  // then every request is refused by the rate limit, whatever name it chooses
  for (let i = 1; i <= 30; i++)
    expect((await op(`Flood${i}_${Math.random().toString(36).slice(2)}`)).errors?.[0]?.extensions?.code).toBe('API-001');
  const text = await scrape();
  const series = [...text.matchAll(/^graphql_operations_total\{([^}]*)\} (\d+)$/gm)].map((m) => ({
    operation: /operation="([^"]*)"/.exec(m[1]!)?.[1],
    outcome: /outcome="([^"]*)"/.exec(m[1]!)?.[1],
    value: Number(m[2]),
  }));
  expect(new Set(series.map((s) => s.operation))).toEqual(new Set(['Known1', 'Known2', 'Known3', 'other']));
  expect(series.find((s) => s.operation === 'other' && s.outcome === 'ok')?.value).toBe(7);
  expect(series.find((s) => s.operation === 'other' && s.outcome === 'error')?.value).toBe(30);
});
