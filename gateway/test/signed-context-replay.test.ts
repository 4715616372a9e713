import http from 'node:http';
import { errorCode, gql } from '@tm/tools/testing/graphql';
import { Cleanup, type ServiceProcess } from '@tm/tools/testing/processes';
import { registerUser, startStack, type Stack, type TestUser } from '@tm/tools/testing/stack';

/**
 * Signed context replay (issue 15, item 6): a context header the gateway signed for one subgraph
 * fetch, captured on the way (here by a recording proxy between a gateway and projects), must not
 * be good for another body, another subgraph, or after the (short, configurable) window.
 */
const cleanup = new Cleanup();
let stack: Stack;
let gateway: ServiceProcess;
let user: TestUser;
const captured: Array<{ headers: Record<string, string>; body: string }> = [];
const WINDOW_MS = 3000;

/** Forwards to `target`, keeping each request's headers and body. */
function recordingProxy(target: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
      captured.push({ headers, body });
      fetch(target, { method: 'POST', headers, body })
        .then(async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
          res.end(await r.text());
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({ url: `http://127.0.0.1:${port}/graphql`, close: () => new Promise((r) => server.close(() => r())) });
    }),
  );
}

beforeAll(async () => {
  stack = await startStack('replay', ['users', 'projects'], { SIGNED_CONTEXT_MAX_AGE_MS: String(WINDOW_MS) });
  cleanup.add(() => stack.stop());
  const proxy = await recordingProxy(stack.services.projects!.url);
  cleanup.add(() => proxy.close());
  gateway = await stack.addGateway({ PROJECTS_URL: proxy.url });
  user = await registerUser(gateway.url, 'Replay');
}, 120_000);

afterAll(() => cleanup.run());

it('a captured signed context is good for its own subgraph and body only, and only briefly', async () => {
  const made = await gql<{ createProject: { id: string } }>(
    gateway.url,
    'mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }',
    { i: { name: 'Captured' } },
    { token: user.token },
  );
  expect(made.errors).toBeUndefined();
  const fetchOf = captured.find((c) => c.body.includes('createProject'));
  expect(fetchOf?.headers['x-tm-context']).toBeDefined();
  const header = fetchOf!.headers['x-tm-context']!;
  const projects = stack.services.projects!.url;
  const users = stack.services.users!.url;
  const send = (url: string, body: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tm-context': header }, body }).then(
      async (r) => ({
        status: r.status,
        json: (await r.json()) as { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> },
      }),
    );

  // another body to the same subgraph: refused (before: any operation as that user for 60 s)
  const other = JSON.stringify({
    query: 'mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }',
    variables: { i: { name: 'Forged with a replayed context' } },
  });
  const forged = await send(projects, other);
  expect(forged.status).toBe(401);
  expect(errorCode(forged.json as never)).toBe('AUTH-002');

  // the same body to another subgraph: refused
  const elsewhere = await send(users, JSON.stringify({ query: '{ me { id email } }' }));
  expect(elsewhere.status).toBe(401);
  const sameBodyElsewhere = await send(users, fetchOf!.body);
  expect(sameBodyElsewhere.status).toBe(401);

  // the same body to the same subgraph after the window: refused
  await new Promise((r) => setTimeout(r, WINDOW_MS + 1500));
  const late = await send(projects, fetchOf!.body);
  expect(late.status).toBe(401);

  // nothing was created by the replays
  const mine = await gql<{ projects: { edges: Array<{ node: { name: string } }> } }>(
    gateway.url,
    '{ projects(first: 20) { edges { node { name } } } }',
    {},
    { token: user.token },
  );
  expect(mine.data?.projects.edges.map((e) => e.node.name)).toEqual(['Captured']);
}, 120_000);
