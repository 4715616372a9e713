import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, GraphQLError, parse, validate } from 'graphql';
import { startProc, type Proc } from '@tm/tools/bench/procs';
import { gql, type GqlResponse } from '@tm/tools/testing/graphql';
import { REPO_ROOT } from '@tm/tools/testing/processes';
import { testEnv } from '@tm/tools/testing/env';

/**
 * Our plan executor against @apollo/gateway's on subgraphs built for the cases the benchmark
 * fixtures lack: mutations across subgraphs, errors inside lists of entities (a throwing field, a
 * throwing non-null field, an entity that is not found), an interface and a union, and response
 * keys every object inherits (`__proto__`, `constructor`) chosen by the client as aliases.
 * The subgraphs run in this process; the gateways are the real built gateway, as child processes.
 */

const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])';
const SDL: Record<string, string> = {
  catalog: `${LINK}
    type Query { items: [Item] search: [Result] node(id: ID!): Node shelf: Shelf }
    type Mutation { rename(id: ID!, title: String!): Item }
    interface Node { id: ID! }
    type Item implements Node @key(fields: "id") { id: ID! title: String }
    type Film implements Node @key(fields: "id") { id: ID! title: String minutes: Int }
    union Result = Item | Film
    type Shelf { label: String }`,
  reviews: `${LINK}
    type Item @key(fields: "id") { id: ID! rating: Int secret: String strict: String! review: Review }
    type Film @key(fields: "id") { id: ID! rating: Int }
    type Review { stars: Int note: String }
    type Mutation { rate(id: ID!, stars: Int!): Item }`,
};

const items = new Map(['1', '2', '3', '4'].map((id) => [id, { id, title: `Item ${id}` }]));
const films = new Map(['f1', 'f2'].map((id) => [id, { id, title: `Film ${id}`, minutes: 90 }]));
const ratings = new Map<string, number>([
  ['1', 3],
  ['2', 4],
  ['3', 5],
  ['f1', 2],
]);
/** A coded error (passes the gateway's error formatter unmasked). */
const denied = (what: string) => new GraphQLError(`No access to ${what}`, { extensions: { code: 'PERM-001' } });

const RESOLVERS: Record<string, Record<string, Record<string, unknown>>> = {
  catalog: {
    Query: {
      items: () => [...items.values()],
      search: () => [items.get('1'), films.get('f1'), items.get('2'), films.get('f2')],
      node: (_: unknown, { id }: { id: string }) => items.get(id) ?? films.get(id) ?? null,
      shelf: () => ({ label: 'Top shelf' }),
    },
    Mutation: {
      rename: (_: unknown, { id, title }: { id: string; title: string }) => {
        const item = items.get(id);
        if (!item) throw denied(`item ${id}`);
        item.title = title;
        return item;
      },
    },
    Node: { __resolveType: (o: { id: string }) => (o.id.startsWith('f') ? 'Film' : 'Item') },
    Result: { __resolveType: (o: { id: string }) => (o.id.startsWith('f') ? 'Film' : 'Item') },
    Item: { __resolveReference: (ref: { id: string }) => items.get(ref.id) ?? null },
    Film: { __resolveReference: (ref: { id: string }) => films.get(ref.id) ?? null },
  },
  reviews: {
    Mutation: {
      rate: (_: unknown, { id, stars }: { id: string; stars: number }) => {
        if (!items.has(id)) throw denied(`item ${id}`);
        ratings.set(id, stars);
        return { id };
      },
    },
    Item: {
      // item 4 is unknown here: its entity is null
      __resolveReference: (ref: { id: string }) => (ref.id === '4' ? null : ref),
      rating: (i: { id: string }) => ratings.get(i.id) ?? null,
      secret: (i: { id: string }) => {
        if (i.id === '2') throw denied(`the secret of ${i.id}`);
        return `secret ${i.id}`;
      },
      strict: (i: { id: string }) => {
        if (i.id === '3') throw denied(`the strict field of ${i.id}`);
        return `strict ${i.id}`;
      },
      review: (i: { id: string }) => ({ stars: ratings.get(i.id) ?? 0, note: `about ${i.id}` }),
    },
    Film: {
      __resolveReference: (ref: { id: string }) => ref,
      rating: (f: { id: string }) => ratings.get(f.id) ?? null,
    },
  },
};

function startSubgraph(name: string): Promise<http.Server> {
  const schema = buildSubgraphSchema({ typeDefs: parse(SDL[name]!), resolvers: RESOLVERS[name] as never });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          query: string;
          variables?: Record<string, unknown>;
          operationName?: string;
        };
        const document = parse(body.query);
        const errors = validate(schema, document);
        const result = errors.length
          ? { errors }
          : await execute({ schema, document, variableValues: body.variables, operationName: body.operationName });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      })().catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Error ids differ per request; everything else must match. */
function comparable(r: GqlResponse): unknown {
  return JSON.parse(JSON.stringify(r), (key, value: unknown) =>
    key === 'correlationId' || key === 'requestId' || key === 'headers' ? undefined : value,
  );
}

const servers: http.Server[] = [];
const procs: Proc[] = [];
let env: NodeJS.ProcessEnv;
let fast: Proc, apollo: Proc;

const gateway = async (label: string, executor: 'fast' | 'apollo') => {
  const p = await startProc(label, path.join(REPO_ROOT, 'gateway/dist/main.js'), [], { ...env, GATEWAY_EXECUTOR: executor });
  procs.push(p);
  return p;
};

beforeAll(async () => {
  const urls: Record<string, string> = {};
  for (const name of Object.keys(SDL)) {
    const s = await startSubgraph(name);
    servers.push(s);
    urls[name] = `http://127.0.0.1:${(s.address() as AddressInfo).port}/graphql`;
  }
  const composed = composeServices(Object.keys(SDL).map((name) => ({ name, url: urls[name]!, typeDefs: parse(SDL[name]!) })));
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('; '));
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'tm-executor-merge-')), 'supergraph.graphql');
  writeFileSync(file, composed.supergraphSdl);
  env = { ...testEnv('executor_merge'), SUPERGRAPH_PATH: file, LANDING_PAGE: 'off' };
  fast = await gateway('gateway-fast', 'fast');
  apollo = await gateway('gateway-apollo', 'apollo');
}, 120_000);

afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
  for (const s of servers) await new Promise((r) => s.close(r));
});

const same = async (query: string, variables: Record<string, unknown> = {}, ours = fast, theirs = apollo) => {
  const a = await gql(ours.url, query, variables);
  const b = await gql(theirs.url, query, variables);
  expect(comparable(a)).toEqual(comparable(b));
  expect(JSON.stringify(a.data)).toBe(JSON.stringify(b.data));
  return a;
};

it('runs these operations on our executor', async () => {
  const text = await (await fetch(`${fast.base}/metrics`)).text();
  const before = Number(/gateway_operations_executed_total\{[^}]*executor="fast"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
  await gql(fast.url, '{ items { id rating } }');
  const after = await (await fetch(`${fast.base}/metrics`)).text();
  expect(Number(/gateway_operations_executed_total\{[^}]*executor="fast"[^}]*\} (\d+)/.exec(after)?.[1] ?? 0)).toBe(before + 1);
});

it.each([
  ['errors inside a list of entities (a throwing field, an entity not found)', '{ items { id title rating secret } }'],
  ['a throwing non-null field inside a list of entities', '{ items { id title strict } }'],
  ['an entity field of an object nested in a list', '{ items { id review { stars note } } }'],
  [
    'a union with type conditions across subgraphs',
    '{ search { __typename ... on Item { id title rating secret } ... on Film { id minutes rating } } }',
  ],
  [
    'an interface, by fragment and inline',
    '{ a: node(id: "f1") { __typename id ...F } b: node(id: "2") { id ... on Item { title secret } } } fragment F on Film { title minutes rating }',
  ],
  ['an interface with only its own fields', '{ node(id: "3") { id __typename } }'],
])('answers like @apollo/gateway: %s', async (_name, query) => {
  await same(query);
});

it('answers mutations like @apollo/gateway, in order across subgraphs, errors included', async () => {
  // every selected value is set by this operation itself, so running it twice answers the same
  const m =
    'mutation($t: String!) { a: rate(id: "1", stars: 1) { id rating } b: rename(id: "1", title: $t) { title rating } c: rate(id: "1", stars: 2) { title rating } d: rename(id: "1", title: "Again") { title rating } }';
  const r = await same(m, { t: 'Renamed' });
  expect(r.data).toEqual({
    a: { id: '1', rating: 1 },
    b: { title: 'Renamed', rating: 1 },
    c: { title: 'Renamed', rating: 2 },
    d: { title: 'Again', rating: 2 },
  });
  await same('mutation { ok: rate(id: "2", stars: 2) { id rating } missing: rename(id: "nope", title: "x") { id } }');
});

describe('response keys every object inherits', () => {
  /** A fresh gateway of each kind: a polluted process would spoil the other tests. */
  const attack = async (label: string, query: string) => {
    const ours = await gateway(`gateway-fast-${label}`, 'fast');
    const theirs = await gateway(`gateway-apollo-${label}`, 'apollo');
    await same(query, {}, ours, theirs);
    // Object.prototype untouched: objects without their own __typename still shape by their field's type
    const after = await same('{ items { id title } shelf { label } }', {}, ours, theirs);
    expect(after.data).toEqual({
      items: [...items.values()].map((i) => ({ id: i.id, title: i.title })),
      shelf: { label: 'Top shelf' },
    });
  };

  it('an alias __proto__ on a root field does not reach Object.prototype', async () => {
    await attack('root', '{ __proto__: shelf { __typename label } constructor: shelf { label } }');
  }, 120_000);

  it('an alias __proto__ inside an entity fetched from another subgraph does not reach Object.prototype', async () => {
    await attack('entity', '{ items { id __proto__: review { __typename note } } }');
  }, 120_000);
});
