import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import { AppError, ErrorCode, traceOperation, type Logger, type Redis, type UserContext } from '@tm/kit';
import {
  getOperationAST,
  GraphQLError,
  parse,
  print,
  validate,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import client from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GatewayContext } from '../context';
import { withoutSuggestions } from '../ops/limits/operation-limits';
import { ChannelHub } from './channels';
import { listenForDisconnects } from './disconnect';
import { LiveEngine, operationNameOf, type EngineOptions, type Subscriber } from './engine';
import { MessageBudget, StartGate } from './gate';

export interface RealtimeOptions {
  server: http.Server;
  path: string;
  apollo: ApolloServer<GatewayContext>;
  schema: () => GraphQLSchema | undefined;
  /** The same token check as HTTP: JWT against the JWKS, then revocation in Redis. */
  authenticate: (authorization: string | undefined) => Promise<UserContext>;
  context: (user: UserContext, correlationId: string, clientIp: string | null, transport?: 'socket') => GatewayContext;
  redis: Redis;
  redisUrl: string;
  prefix: string;
  log: Logger;
  registry: client.Registry;
  /**
   * The HTTP path's error formatter (codes, safe messages, correlation id), applied to the errors
   * graphql-ws sends itself (validation, refused starts). Without it only the code is normalised.
   */
  formatError?: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Introspection and "Did you mean …" suggestions for everyone (else only for ADMIN tokens), as over HTTP. */
  introspection?: boolean;
  /** The client's address (TRUST_PROXY aware, as over HTTP); default: the socket's peer. */
  clientAddress?: (request: http.IncomingMessage) => string | null;
  limits: {
    connectionsPerUser: number;
    subscriptionsPerConnection: number;
    maxMessageBytes: number;
    maxQueue: number;
    maxBufferedBytes: number;
    heartbeatMs: number;
    /** Subscription starts running at once in this process, and waiting for a turn. */
    concurrentStarts: number;
    /** Subscription starts running at once per connection (a connection's further starts wait). */
    concurrentStartsPerConnection: number;
    waitingStarts: number;
    /** `subscribe` messages a connection may send per second on average, and at once (see MessageBudget). */
    subscribeMessagesPerSecond?: number;
    subscribeMessagesBurst?: number;
    /** The parser's token limit, as over HTTP. */
    maxTokens?: number;
    /**
     * How often an idle connection's token is checked again (revoked or ended sessions close the
     * socket with 4403); connections with events are also checked when an event arrives.
     */
    authRecheckMs?: number;
  };
  /** Membership from the permissions cache: per-event access checks and shared live payloads (see LiveEngine). */
  access?: (userId: string, projectId: string) => Promise<{ role: string; archived: boolean } | null>;
  /** The request path's checks without executing (see LiveEngine). */
  check?: EngineOptions['check'];
}

interface Connection {
  id: string;
  socket: WebSocket;
  authorization: string;
  user: UserContext;
  checkedAt: number;
  /** The token check in progress, shared by the connection's subscriptions. */
  recheck?: Promise<UserContext>;
  /** When the periodic token check (for idle connections) next looks at this connection. */
  nextCheckAt: number;
  clientIp: string | null;
  /** Live subscriptions, plus starts not finished yet (both count against the per-connection limit). */
  subscriptions: number;
  starting: number;
  /** This connection's starts running at once (one it completes while waiting never runs). */
  gate: StartGate;
  /** Its `subscribe` messages' budget, spent before anything is parsed. */
  budget: MessageBudget;
  expiryTimer?: NodeJS.Timeout;
}

/** Close codes of the live endpoint (graphql-ws reserves 44xx for protocol errors). */
export const LiveClose = {
  Unauthorized: CloseCode.Unauthorized, // 4401: no token in connection_init
  Forbidden: CloseCode.Forbidden, // 4403: bad, expired or revoked token
  TooManyConnections: 4429,
  Disconnected: 4000, // disconnectClients by an operator
  GoingAway: 1001,
} as const;

function tokenFrom(payload: Record<string, unknown> | undefined): string | undefined {
  const raw = payload?.authorization ?? payload?.Authorization ?? payload?.accessToken ?? payload?.token;
  if (typeof raw !== 'string' || !raw) return undefined;
  return /^Bearer\s/i.test(raw) ? raw : `Bearer ${raw}`;
}

function expiryOf(authorization: string): number | null {
  try {
    const payload = JSON.parse(Buffer.from(authorization.split(' ')[1]!.split('.')[1]!, 'base64url').toString('utf8')) as {
      exp?: number;
    };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * graphql-ws on the gateway's own HTTP server and path: subscriptions from Redis through the
 * live engine; queries and mutations sent over the socket go through the gateway like HTTP ones.
 */
export function attachRealtime(opts: RealtimeOptions) {
  const { log, limits } = opts;
  const recheckMs = limits.authRecheckMs ?? 15_000;

  /** An error graphql-ws sends itself, formatted as the HTTP path formats it. */
  const formatSocketError = (e: GraphQLError, admin: boolean): GraphQLFormattedError => {
    const json = e.toJSON();
    const code = json.extensions?.code;
    // graphql-ws's own validation errors carry no code: Apollo would have tagged them so
    const tagged = code ? json : { ...json, extensions: { ...json.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } };
    let out: GraphQLFormattedError = opts.formatError
      ? opts.formatError(tagged, e)
      : { message: e.message, extensions: { code: typeof code === 'string' && code.includes('-') ? code : ErrorCode.InvalidRequest } };
    // "Did you mean …?" reveals the schema: only where introspection is allowed, as over HTTP
    if (!opts.introspection && !admin && / ?Did you mean /.test(out.message)) out = { ...out, message: withoutSuggestions(out.message) };
    return out;
  };
  const hub = new ChannelHub(opts.redisUrl, log);
  const connections = new Map<WebSocket, Connection>();
  const perUser = new Map<string, number>();
  const presence = new Map<string, { count: number; timer: NodeJS.Timeout }>();

  const gauge = (name: string, help: string, get: () => number) =>
    new client.Gauge({
      name,
      help,
      registers: [opts.registry],
      collect() {
        this.set(get());
      },
    });
  gauge('live_connections', 'Open graphql-ws connections', () => connections.size);
  let activeSubscriptions = 0;
  gauge('live_subscriptions', 'Active live subscriptions', () => activeSubscriptions);
  gauge('live_redis_channels', 'Redis channels this process listens to', () => hub.channelCount());
  const delivered = new client.Counter({
    name: 'live_events_delivered_total',
    help: 'Live events delivered',
    labelNames: ['subscription'],
    registers: [opts.registry],
  });
  const shaped = new client.Counter({
    name: 'live_payloads_shaped_total',
    help: 'Live payloads shaped for subscribers (identical subscriptions of one permission set share one)',
    labelNames: ['subscription'],
    registers: [opts.registry],
  });
  const latency = new client.Histogram({
    name: 'live_delivery_latency_seconds',
    help: 'From the change to the send',
    labelNames: ['subscription'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [opts.registry],
  });
  const started = new client.Counter({
    name: 'live_subscriptions_started_total',
    help: 'Subscriptions that went live (their Redis channel confirmed)',
    registers: [opts.registry],
  });
  const dropped = new client.Counter({
    name: 'live_subscription_starts_dropped_total',
    help: 'Subscription starts not run: the client completed them while they waited (gone), too many were waiting (full), or the connection sent operations faster than its budget (rate)',
    labelNames: ['reason'],
    registers: [opts.registry],
  });
  const gate = new StartGate(limits.concurrentStarts, limits.waitingStarts, (reason) => dropped.inc({ reason }));
  gauge('live_subscription_starts_waiting', 'Subscription starts waiting for a turn', () => gate.load().waiting);

  /** The subscriber's presence, sent by the gateway for them (a trace of its own: `live Presence`). */
  const heartbeat = (conn: Connection, projectId: string, online: boolean) =>
    traceOperation(
      'live Presence',
      'consumer',
      { 'graphql.operation.type': 'mutation', 'graphql.operation.name': 'Presence' },
      () =>
        opts.apollo.executeOperation(
          {
            query: 'mutation Presence($p: ID!, $o: Boolean) { heartbeat(projectId: $p, online: $o) }',
            variables: { p: projectId, o: online },
          },
          { contextValue: opts.context(conn.user, randomUUID(), conn.clientIp) },
        ),
    ).catch((err: unknown) => log.debug({ err }, 'presence heartbeat failed'));

  /** Presence while subscribed: one heartbeat loop per (user, project) in this process. */
  const join = (conn: Connection, projectId: string): (() => void) => {
    const key = `${conn.user.userId}|${projectId}`;
    let entry = presence.get(key);
    if (entry) entry.count++;
    else {
      void heartbeat(conn, projectId, true);
      const timer = setInterval(() => void heartbeat(conn, projectId, true), limits.heartbeatMs);
      timer.unref();
      entry = { count: 1, timer };
      presence.set(key, entry);
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const e = presence.get(key);
      if (!e || --e.count > 0) return;
      clearInterval(e.timer);
      presence.delete(key);
      void heartbeat(conn, projectId, false);
    };
  };

  const subscriberFor = (conn: Connection): Subscriber => ({
    gate: conn.gate,
    join: (projectId) => join(conn, projectId),
    user: async () => {
      if (Date.now() - conn.checkedAt <= 2000) return conn.user;
      // one check for all of the connection's subscriptions at once (expired or revoked → AUTH-002)
      conn.recheck ??= opts
        .authenticate(conn.authorization)
        .then((user) => {
          conn.user = user;
          conn.checkedAt = Date.now();
          return user;
        })
        .finally(() => {
          conn.recheck = undefined;
        });
      return conn.recheck;
    },
    context: (user, clientOperation) => opts.context(user, randomUUID(), conn.clientIp, clientOperation ? 'socket' : undefined),
    close: (code, reason) => conn.socket.close(code, reason.slice(0, 120)),
    buffered: () => conn.socket.bufferedAmount,
  });

  const engine = new LiveEngine({
    hub,
    prefix: opts.prefix,
    apollo: opts.apollo,
    log,
    maxQueue: limits.maxQueue,
    maxBufferedBytes: limits.maxBufferedBytes,
    gate,
    metrics: { delivered, shaped, latency, active: { inc: () => (activeSubscriptions++, started.inc()), dec: () => activeSubscriptions-- } },
    ...(opts.access ? { access: opts.access } : {}),
    ...(opts.check ? { check: opts.check } : {}),
  });

  const wss = new WebSocketServer({ server: opts.server, path: opts.path, maxPayload: limits.maxMessageBytes });
  const ctxConn = (socket: WebSocket) => connections.get(socket);

  const serverHandle = useServer<Record<string, unknown>, { socket: WebSocket; request: http.IncomingMessage }>(
    {
      schema: () => {
        const s = opts.schema();
        if (!s) throw new AppError(ErrorCode.ServiceUnavailable, 'Schema not loaded yet');
        return s;
      },
      onConnect: async (ctx) => {
        const { socket, request } = ctx.extra;
        const authorization = tokenFrom(ctx.connectionParams);
        if (!authorization) {
          socket.close(LiveClose.Unauthorized, 'AUTH-001: connection_init needs an access token');
          return false;
        }
        let user: UserContext;
        try {
          user = await opts.authenticate(authorization);
        } catch (err) {
          const app = err instanceof AppError ? err : null;
          socket.close(
            LiveClose.Forbidden,
            `${app?.code ?? ErrorCode.TokenInvalid}: ${app?.message ?? 'invalid token'}`.slice(0, 120),
          );
          return false;
        }
        if (!user.userId) {
          socket.close(LiveClose.Unauthorized, 'AUTH-001: connection_init needs an access token');
          return false;
        }
        // the client may have gone while the token was checked: its close has already been handled
        // (onClose found no connection), so counting it now would hold one of the user's places forever
        if (socket.readyState !== socket.OPEN) return false;
        const count = perUser.get(user.userId) ?? 0;
        if (count >= limits.connectionsPerUser) {
          socket.close(LiveClose.TooManyConnections, 'API-001: too many live connections');
          return false;
        }
        perUser.set(user.userId, count + 1);
        const now = Date.now();
        const conn: Connection = {
          id: randomUUID(),
          socket,
          authorization,
          user,
          checkedAt: now,
          nextCheckAt: now + recheckMs,
          clientIp: opts.clientAddress ? opts.clientAddress(request) : (request.socket.remoteAddress ?? null),
          subscriptions: 0,
          starting: 0,
          gate: new StartGate(limits.concurrentStartsPerConnection, limits.subscriptionsPerConnection, (reason) =>
            dropped.inc({ reason }),
          ),
          budget: new MessageBudget(limits.subscribeMessagesPerSecond ?? 10, limits.subscribeMessagesBurst ?? 30),
        };
        const exp = expiryOf(authorization);
        if (exp) {
          conn.expiryTimer = setTimeout(
            () => socket.close(LiveClose.Forbidden, 'AUTH-002: access token expired'),
            Math.max(0, exp - Date.now()),
          );
          conn.expiryTimer.unref();
        }
        connections.set(socket, conn);
        return true;
      },
      onSubscribe: (ctx, _id, payload) => {
        const conn = ctxConn(ctx.extra.socket);
        if (!conn) return [new GraphQLError('Not connected', { extensions: { code: ErrorCode.TokenInvalid } })];
        if (!conn.budget.take()) {
          dropped.inc({ reason: 'rate' });
          return [
            new GraphQLError('Too many operations started on this connection; slow down', {
              extensions: { code: ErrorCode.RateLimited, retryAfter: conn.budget.retryAfter() },
            }),
          ];
        }
        if (conn.subscriptions + conn.starting >= limits.subscriptionsPerConnection) {
          return [new GraphQLError('Too many subscriptions on this connection', { extensions: { code: ErrorCode.RateLimited } })];
        }
        // parsed and validated here rather than by graphql-ws, which takes a syntax error for an
        // internal one and closes the whole socket with 4500
        const schema = opts.schema();
        if (!schema) return [new GraphQLError('Schema not loaded yet', { extensions: { code: ErrorCode.ServiceUnavailable } })];
        let document;
        try {
          document = parse(payload.query, limits.maxTokens ? { maxTokens: limits.maxTokens } : undefined);
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError('Syntax Error')];
        }
        const invalid = validate(schema, document);
        if (invalid.length) return [...invalid];
        return { schema, document, operationName: payload.operationName ?? null, variableValues: payload.variables ?? null };
      },
      // `alive`: the client has not completed this operation (graphql-ws forgets its id on complete)
      context: (ctx, id) => ({ socket: ctx.extra.socket, alive: () => id in ctx.subscriptions }),
      execute: async (args: ExecutionArgs): Promise<ExecutionResult> => {
        const conn = ctxConn((args.contextValue as { socket: WebSocket }).socket)!;
        const user = await subscriberFor(conn)
          .user()
          .catch(() => null);
        if (!user)
          return {
            errors: [new GraphQLError('Access token invalid or expired', { extensions: { code: ErrorCode.TokenInvalid } })],
          };
        const type = getOperationAST(args.document, args.operationName)?.operation ?? 'query';
        const name = operationNameOf(args);
        const res = await traceOperation(
          `graphql-ws ${type}`,
          'server',
          { 'graphql.operation.type': type, ...(name ? { 'graphql.operation.name': name } : {}) },
          () =>
            opts.apollo.executeOperation(
              {
                query: print(args.document),
                variables: args.variableValues as Record<string, unknown>,
                operationName: args.operationName ?? undefined,
              },
              { contextValue: opts.context(user, randomUUID(), conn.clientIp, 'socket') },
            ),
          (r) => {
            const code = r.body.kind === 'single' ? r.body.singleResult.errors?.[0]?.extensions?.code : undefined;
            return typeof code === 'string' ? code : undefined;
          },
        );
        const body = res.body.kind === 'single' ? res.body.singleResult : { data: null, errors: [] };
        // Apollo hands back formatted errors; graphql-ws wants GraphQLError instances
        const errors = body.errors?.map((e) => new GraphQLError(e.message, { path: e.path, extensions: e.extensions }));
        return { data: body.data as ExecutionResult['data'], ...(errors?.length ? { errors } : {}) };
      },
      subscribe: async (args: ExecutionArgs) => {
        const { socket, alive } = args.contextValue as { socket: WebSocket; alive: () => boolean };
        const conn = ctxConn(socket)!;
        conn.starting++;
        let result: Awaited<ReturnType<typeof engine.subscribe>>;
        try {
          result = await engine.subscribe(args, subscriberFor(conn), alive);
        } finally {
          conn.starting--;
        }
        if (!(Symbol.asyncIterator in result)) return result;
        conn.subscriptions++;
        const origReturn = result.return!.bind(result);
        result.return = async () => {
          conn.subscriptions--;
          return origReturn();
        };
        return result;
      },
      // errors graphql-ws sends itself: its validation of the document (uncoded, as Apollo's
      // GRAPHQL_VALIDATION_FAILED) and refused starts (coded); masked exactly like the HTTP path's
      onError: (ctx, _id, _payload, errors) => {
        const admin = ctxConn(ctx.extra.socket)?.user.roles.includes('ADMIN') ?? false;
        return errors.map((e) => formatSocketError(e, admin));
      },
      onClose: (ctx) => {
        const conn = ctxConn(ctx.extra.socket);
        if (!conn) return;
        connections.delete(ctx.extra.socket);
        clearTimeout(conn.expiryTimer);
        const uid = conn.user.userId!;
        const left = (perUser.get(uid) ?? 1) - 1;
        if (left <= 0) perUser.delete(uid);
        else perUser.set(uid, left);
      },
    },
    wss,
  );

  /**
   * Idle connections see no event that would re-check their token: every connection is checked
   * again at least every `authRecheckMs`, and one whose token was revoked (or whose session ended)
   * is closed with 4403, ending its subscriptions and the presence kept for them.
   */
  const recheckTimer = setInterval(() => {
    const now = Date.now();
    for (const conn of connections.values()) {
      if (conn.nextCheckAt > now || conn.recheck) continue;
      conn.nextCheckAt = now + recheckMs;
      subscriberFor(conn)
        .user()
        .catch((err: unknown) => {
          if (err instanceof AppError && err.code === ErrorCode.TokenInvalid) {
            conn.socket.close(LiveClose.Forbidden, `${err.code}: ${err.message}`.slice(0, 120));
          } else log.debug({ err }, 'live token re-check failed; tried again later');
        });
    }
  }, Math.min(1000, recheckMs));
  recheckTimer.unref();

  /** Closes the matching sockets of this process; returns how many. */
  const disconnect = (userId: string | null, reason: string): number => {
    let n = 0;
    for (const conn of connections.values()) {
      if (userId && conn.user.userId !== userId) continue;
      conn.socket.close(LiveClose.Disconnected, `Disconnected by an operator: ${reason}`.slice(0, 120));
      n++;
    }
    return n;
  };
  const stopDisconnects = listenForDisconnects(hub, opts.prefix, opts.redis, disconnect);

  return {
    disconnect,
    connectionCount: () => connections.size,
    async close(): Promise<void> {
      clearInterval(recheckTimer);
      await (
        await stopDisconnects.catch(() => null)
      )?.();
      for (const conn of connections.values()) conn.socket.close(LiveClose.GoingAway, 'Server shutting down');
      await serverHandle.dispose();
      await new Promise<void>((r) => wss.close(() => r()));
      await hub.close();
    },
  };
}
export type Realtime = ReturnType<typeof attachRealtime>;
