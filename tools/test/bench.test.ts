import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BENCH_QUERY, benchShapeOk, composeFixtures, FIXTURE_NAMES } from '@tm/tools/bench/fixtures';
import { BENCH_DIST, startProc, type Proc } from '@tm/tools/bench/procs';
import { REPO_ROOT } from '@tm/tools/testing/processes';
import { testEnv } from '@tm/tools/testing/env';

/** Smoke test of the bench harness: the fixture subgraphs compose and answer the benchmark query through our gateway. */
describe('bench harness', () => {
  const procs: Proc[] = [];
  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
  });

  it('serves the federation benchmark query through our gateway over the fixture subgraphs', async () => {
    const urls: Record<string, string> = {};
    for (const name of FIXTURE_NAMES) {
      const p = await startProc(`fixture-${name}`, path.join(BENCH_DIST, 'fixture-subgraph.js'), [name], {
        PATH: process.env.PATH,
      });
      procs.push(p);
      urls[name] = p.url;
    }
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'tm-bench-test-')), 'supergraph.graphql');
    writeFileSync(file, composeFixtures(urls));
    const gateway = await startProc('gateway', path.join(REPO_ROOT, 'gateway/dist/main.js'), [], {
      ...testEnv('bench'),
      SUPERGRAPH_PATH: file,
      LANDING_PAGE: 'off',
    });
    procs.push(gateway);
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: BENCH_QUERY }),
    });
    const body = (await res.json()) as { errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    expect(benchShapeOk(body as never)).toBe(true);
  }, 120_000); // five processes to start: generous on a busy machine
});
