import http from 'node:http';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, validate, type DocumentNode } from 'graphql';
import { FIXTURE_RESOLVERS, FIXTURE_SDL } from './fixtures';

/**
 * One fixture subgraph of the gateway benchmark in its own process: `node fixture-subgraph.js <name>`
 * with PORT. Plain node:http and graphql-js with a parse/validate cache, so the subgraphs cost
 * little next to the gateway under test.
 */
const name = process.argv[2] ?? '';
const sdl = FIXTURE_SDL[name];
if (!sdl) {
  console.error(`unknown fixture subgraph "${name}"`);
  process.exit(2);
}
const schema = buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: FIXTURE_RESOLVERS[name] as never });
const documents = new Map<string, DocumentNode | Error>();
let served = 0;
/** Entity representations received (`_entities`), to see what a gateway asks for. */
let representations = 0;

function documentFor(query: string): DocumentNode | Error {
  let doc = documents.get(query);
  if (!doc) {
    try {
      const parsed = parse(query);
      const errors = validate(schema, parsed);
      doc = errors.length ? new Error(errors[0]!.message) : parsed;
    } catch (err) {
      doc = err as Error;
    }
    if (documents.size < 1000) documents.set(query, doc);
  }
  return doc;
}

/** Milliseconds every GraphQL answer waits (tests of the gateway's subgraph timeout); set with POST /delay?ms=N. */
let delayMs = 0;

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url?.startsWith('/delay?')) {
    delayMs = Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 0) || 0;
    res.writeHead(204).end();
    return;
  }
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', served, representations }));
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    served++;
    let body: { query?: string; variables?: Record<string, unknown>; operationName?: string };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"message":"bad JSON"}]}');
      return;
    }
    const reps = body.variables?.representations;
    if (Array.isArray(reps)) representations += reps.length;
    const doc = documentFor(body.query ?? '');
    if (doc instanceof Error) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: doc.message }] }));
      return;
    }
    new Promise((r) => setTimeout(r, delayMs))
      .then(() => execute({ schema, document: doc, variableValues: body.variables, operationName: body.operationName }))
      .then((result) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      })
      .catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: String(err) }] }));
      });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
