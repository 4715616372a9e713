import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { runInScope } from './request-scope';
import { trackInFlight } from './shutdown';
import { CORRELATION_HEADER, correlationIdFrom } from './signed-context';
import { ErrorCode } from '../contracts/errors';
import { nameServerSpan, traceServerRequest, tracingActive } from './tracing';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface GraphqlMount<C extends BaseContext> {
  path: string;
  server: ApolloServer<C>;
  /** Builds the context; throwing a GraphQLError with `extensions.http.status` refuses the request. */
  context: (req: IncomingMessage, correlationId: string) => Promise<C>;
}

export interface HttpAppOptions<C extends BaseContext> {
  log: Logger;
  metrics: Metrics;
  routes?: Record<string, RouteHandler>;
  graphql?: GraphqlMount<C>;
  /** Origins allowed by CORS (e.g. Apollo Studio). */
  corsOrigins?: readonly string[];
  maxBodyBytes?: number;
  /** Extra headers for every response (security headers). */
  responseHeaders?: () => Record<string, string>;
  /**
   * While tracing is on, a server span per GraphQL request: `root` (default, the gateway) starts the
   * trace and ignores any trace context the client sent; `continue` (subgraphs) continues the
   * caller's `traceparent`.
   */
  traceRequests?: 'root' | 'continue';
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

function errorBody(code: ErrorCode, message: string, correlationId: string) {
  return { errors: [{ message, extensions: { code, correlationId } }] };
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The raw body of each GraphQL request (POST body, else the query string), for signature checks. */
const rawBodies = new WeakMap<IncomingMessage, string>();

/** The exact body a GraphQL request came with (what a signed context is bound to); '' when none. */
export function requestBody(req: IncomingMessage): string {
  return rawBodies.get(req) ?? '';
}

/** The path of the metrics route (standardRoutes); where it is served follows `metrics.settings`. */
export const METRICS_PATH = '/metrics';

/** The separate metrics listener of a server (METRICS_PORT), started and stopped with it. */
const metricsListeners = new WeakMap<http.Server, { server: http.Server; port: number; host: string }>();

/** `Authorization: Bearer <token>`, compared in constant time. */
function bearerMatches(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}

/**
 * Who may read `/metrics`: behind METRICS_TOKEN (401 without it), and with METRICS_PORT only on
 * that listener. Returns the routes of the service's own port and the metrics listener, if any.
 */
function placeMetrics<C extends BaseContext>(
  opts: HttpAppOptions<C>,
): { routes: Record<string, RouteHandler>; listener?: http.Server } {
  const routes = { ...opts.routes };
  const route = routes[METRICS_PATH];
  if (!route) return { routes };
  const { port, token, production } = opts.metrics.settings;
  const guarded: RouteHandler = token
    ? (req, res) => {
        if (bearerMatches(req, token)) return route(req, res);
        sendJson(res, 401, { error: 'metrics need Authorization: Bearer <METRICS_TOKEN>' }, { 'www-authenticate': 'Bearer' });
      }
    : route;
  if (!port) {
    // production with neither a port nor a token: not served (the port is public)
    if (production && !token) {
      delete routes[METRICS_PATH];
      opts.log.warn('/metrics is not served: set METRICS_PORT (an internal port) or METRICS_TOKEN');
    } else routes[METRICS_PATH] = guarded;
    return { routes };
  }
  delete routes[METRICS_PATH];
  const listener = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === METRICS_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      Promise.resolve(guarded(req, res)).catch((err: unknown) => {
        opts.log.error({ err }, 'metrics request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'metrics unavailable' });
        else res.end();
      });
    } else sendJson(res, 404, { error: 'not found' });
  });
  return { routes, listener };
}

/**
 * The one HTTP server shape of every service: fixed routes (`/health`, `/ready`, `/metrics`, …),
 * GraphQL through Apollo's `executeHTTPGraphQLRequest`, correlation id in and out, metrics, CORS.
 * `/metrics` is served as `metrics.settings` say (METRICS_PORT, METRICS_TOKEN; see placeMetrics).
 */
export function createHttpApp<C extends BaseContext>(opts: HttpAppOptions<C>): http.Server {
  const placed = placeMetrics(opts);
  const handle = requestHandler(opts, placed.routes);
  const server = http.createServer((req, res) => {
    const correlationId = correlationIdFrom(req.headers[CORRELATION_HEADER], randomUUID);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    res.setHeader(CORRELATION_HEADER, correlationId);
    for (const [k, v] of Object.entries(opts.responseHeaders?.() ?? {})) res.setHeader(k, v);
    countRequest(opts, placed.routes, req, res, path);
    const run = () =>
      runInScope({ correlationId }, () =>
        handle(req, res, correlationId, path).catch((err: unknown) => {
          opts.log.error({ err }, 'request failed');
          if (!res.headersSent)
            sendJson(res, 500, errorBody(ErrorCode.ServiceUnavailable, 'Internal server error', correlationId));
          else res.end();
        }),
      );
    // GraphQL requests, and internal endpoints (service-to-service: they always continue the caller's trace)
    if (tracingActive() && path === opts.graphql?.path)
      traceServerRequest(req, res, path, opts.traceRequests === 'continue', run);
    else if (tracingActive() && path.startsWith('/internal/') && Object.hasOwn(placed.routes, path))
      traceServerRequest(req, res, path, true, run);
    else run();
  });
  trackInFlight(server);
  // keep connections from the gateway alive longer than its idle timeout
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  if (placed.listener) attachMetricsListener(server, placed.listener, opts.metrics.settings);
  return server;
}

/** CORS, then a fixed GET route, then GraphQL on its path; anything else is 404. */
function requestHandler<C extends BaseContext>(opts: HttpAppOptions<C>, routes: Record<string, RouteHandler>) {
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const cors = new Set(opts.corsOrigins ?? []);
  return async (req: IncomingMessage, res: ServerResponse, correlationId: string, path: string): Promise<void> => {
    if (answerCors(req, res, cors)) return;
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route && (req.method === 'GET' || req.method === 'HEAD')) {
      await route(req, res);
      return;
    }
    const gql = opts.graphql;
    if (!gql || path !== gql.path) {
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    const read = req.method === 'POST' ? await readGraphqlBody(req, res, maxBody, correlationId) : { body: undefined };
    if (!read) return;
    await executeGraphql(req, res, gql, read.body, correlationId);
  };
}

/** `http_requests_total` and `http_request_duration_seconds` once the answer is sent (unknown paths as `other`). */
function countRequest<C extends BaseContext>(
  opts: HttpAppOptions<C>,
  routes: Record<string, RouteHandler>,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): void {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const known = path === opts.graphql?.path || Object.hasOwn(routes, path);
    const labels = { method: req.method ?? 'GET', route: known ? path : 'other', status: String(res.statusCode) };
    opts.metrics.httpTotal.inc(labels);
    opts.metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
  });
}

/** The separate metrics port's server: started by `listen` with the service's, stopped with it. */
function attachMetricsListener(
  server: http.Server,
  listener: http.Server,
  settings: HttpAppOptions<BaseContext>['metrics']['settings'],
): void {
  if (!settings.port) return;
  metricsListeners.set(server, { server: listener, port: settings.port, host: settings.host });
  server.once('close', () => {
    listener.close();
    listener.closeAllConnections();
  });
}

/** CORS for the allowed origins; answers a preflight itself (true: nothing more to do). */
function answerCors(req: IncomingMessage, res: ServerResponse, allowed: Set<string>): boolean {
  const origin = req.headers.origin;
  if (!origin || !allowed.has(origin)) return false;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('vary', 'origin');
  res.setHeader('access-control-allow-credentials', 'true');
  res.setHeader('access-control-expose-headers', CORRELATION_HEADER);
  if (req.method !== 'OPTIONS') return false;
  res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  res.setHeader(
    'access-control-allow-headers',
    'content-type, authorization, x-correlation-id, apollo-require-preflight, x-apollo-operation-name',
  );
  res.setHeader('access-control-max-age', '600');
  res.writeHead(204).end();
  return true;
}

/**
 * A POSTed GraphQL body: bounded, kept raw (the signed context covers its hash), parsed when JSON.
 * Null when the request was answered already (413, 400).
 */
async function readGraphqlBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBody: number,
  correlationId: string,
): Promise<{ body: unknown } | null> {
  let text: string;
  try {
    text = await readBody(req, maxBody);
  } catch (err) {
    if (err instanceof BodyTooLarge) {
      sendJson(res, 413, errorBody(ErrorCode.InvalidRequest, 'Request body too large', correlationId));
      return null;
    }
    throw err;
  }
  rawBodies.set(req, text);
  if (!(req.headers['content-type'] ?? '').includes('application/json')) return { body: text };
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    sendJson(res, 400, errorBody(ErrorCode.InvalidRequest, 'Request body is not valid JSON', correlationId));
    return null;
  }
  if (tracingActive()) nameServerSpan(body);
  return { body };
}

/** Hands the request to Apollo Server and streams its answer back. */
async function executeGraphql<C extends BaseContext>(
  req: IncomingMessage,
  res: ServerResponse,
  gql: NonNullable<HttpAppOptions<C>['graphql']>,
  body: unknown,
  correlationId: string,
): Promise<void> {
  const headers = new HeaderMap();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'POST') rawBodies.set(req, url.search);
  const result = await gql.server.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
    context: () => gql.context(req, correlationId),
  });
  res.statusCode = result.status ?? 200;
  for (const [k, v] of result.headers) res.setHeader(k, v);
  if (result.body.kind === 'complete') {
    res.end(result.body.string);
  } else {
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }
}

function listenOne(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

/** Listens on the service's port, and on its metrics port when it has one (METRICS_PORT). */
export async function listen(server: http.Server, port: number, host: string): Promise<number> {
  const bound = await listenOne(server, port, host);
  const metrics = metricsListeners.get(server);
  if (metrics) {
    try {
      await listenOne(metrics.server, metrics.port, metrics.host);
    } catch (err) {
      server.close();
      throw err;
    }
  }
  return bound;
}
