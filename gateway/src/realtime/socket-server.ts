import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import { AppError, ErrorCode } from '@tm/kit/contracts';
import { type Logger, type Redis, type RedisTarget, traceOperation, type UserContext } from '@tm/kit/infra';
import {
  getOperationAST,
  GraphQLError,
  parse,
  print,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import client from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GatewayContext } from '../gateway.context';
import { withoutSuggestions } from '../ops/limits/operation-limits';
import { ChannelHub } from './channels';
import { listenForDisconnects } from './disconnect';
import { LiveEngine, operationNameOf, type EngineOptions, type Subscriber } from './engine';
import { Outbox, type Delivery } from './outbox';
import { MessageBudget, StartGate } from './gate';
import { createLiveMetrics, type LiveMetrics } from './live-metrics';
import { PresenceKeeper } from './presence';

export interface RealtimeOptions {
  server: http.Server;
  path: string;
  apollo: ApolloServer<GatewayContext>;
  schema: () => GraphQLSchema | undefined;
  /** The same token check as HTTP: JWT against the JWKS, then revocation in Redis. */
  authenticate: (authorization: string | undefined) => Promise<UserContext>;
  context: (user: UserContext, correlationId: string, clientIp: string | null, transport?: 'socket') => GatewayContext;
  redis: Redis;
  redisTarget: RedisTarget;
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
    /** How long a user stays online after their last subscription on a project ended. */
    presenceGraceMs: number;
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
  /** The membership as this process holds it, at once (see LiveEngine). */
  held?: EngineOptions['held'];
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

const CLOSE_BRACE = Buffer.from('}');

/** Distinct subscription texts kept parsed and validated per schema. */
const MAX_DOCUMENTS = 1000;

/** How long a token check (signature, expiry, revocation) counts for a connection's events. */
const TOKEN_FRESH_MS = 2000;

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
  const live = new LiveServer(opts);
  return {
    disconnect: (userId: string | null, reason: string) => live.disconnect(userId, reason),
    connectionCount: () => live.connections.size,
    close: () => live.close(),
  };
}
export type Realtime = ReturnType<typeof attachRealtime>;

type SocketExtra = { socket: WebSocket; request: http.IncomingMessage };

/** How long a stopping gateway waits for its subscribers' offline heartbeats. */
const PRESENCE_FLUSH_MS = 1000;

/** The live endpoint's state and its steps: one instance per gateway process. */
class LiveServer {
  readonly connections = new Map<WebSocket, Connection>();
  private readonly perUser = new Map<string, number>();
  private readonly hub: ChannelHub;
  private readonly gate: StartGate;
  private readonly presence: PresenceKeeper;
  private readonly metrics: LiveMetrics;
  private readonly engine: LiveEngine;
  private readonly wss: WebSocketServer;
  /** Live `next` messages on their way to the sockets (a socket's backlog leaves in one write). */
  private readonly outbox: Outbox;
  private readonly serverHandle: ReturnType<typeof useServer>;
  private readonly recheckTimer: NodeJS.Timeout;
  private readonly stopDisconnects: Promise<() => Promise<void>>;
  private readonly recheckMs: number;
  private activeSubscriptions = 0;
  /** This process's name as a presence holder (users keeps a user online while any holder does). */
  private readonly presenceHolder = `gateway:${randomUUID()}`;
  /**
   * Token checks by `Authorization` value, shared by every connection with that token for
   * TOKEN_FRESH_MS: a user's 20 tabs cost one check per event, not 20. A failed check is not kept.
   */
  private readonly tokenChecks = new Map<string, { at: number; result: Promise<UserContext> }>();
  /** Parsed and validated subscription documents by schema and query text (see documentFor). */
  private readonly documents = new WeakMap<GraphQLSchema, Map<string, DocumentNode | readonly GraphQLError[]>>();

  constructor(private readonly opts: RealtimeOptions) {
    const { limits } = opts;
    this.recheckMs = limits.authRecheckMs ?? 15_000;
    this.hub = new ChannelHub(opts.redisTarget, opts.log);
    this.presence = new PresenceKeeper(limits.heartbeatMs, limits.presenceGraceMs);
    let waiting = () => 0;
    this.metrics = createLiveMetrics(opts.registry, {
      connections: () => this.connections.size,
      subscriptions: () => this.activeSubscriptions,
      channels: () => this.hub.channelCount(),
      waitingStarts: () => waiting(),
    });
    this.gate = new StartGate(limits.concurrentStarts, limits.waitingStarts, (reason) => this.metrics.dropped.inc({ reason }));
    waiting = () => this.gate.load().waiting;
    this.engine = this.createEngine();
    this.outbox = new Outbox((err) => opts.log.error({ err }, 'live write failed'));
    this.wss = new WebSocketServer({ server: opts.server, path: opts.path, maxPayload: limits.maxMessageBytes });
    // the upgrade request's socket is the connection's TCP socket
    this.wss.on('connection', (socket, request) => this.outbox.attach(socket, request.socket));
    this.serverHandle = useServer<Record<string, unknown>, SocketExtra>(
      {
        schema: () => {
          const s = opts.schema();
          if (!s) throw new AppError(ErrorCode.ServiceUnavailable, 'Schema not loaded yet');
          return s;
        },
        onConnect: (ctx) => this.openConnection(ctx.extra, ctx.connectionParams),
        onSubscribe: (ctx, _id, payload) => this.admitOperation(ctx.extra.socket, payload),
        // `alive`: the client has not completed this operation (graphql-ws forgets its id on complete)
        context: (ctx, id) => ({ socket: ctx.extra.socket, alive: () => id in ctx.subscriptions, id }),
        execute: (args: ExecutionArgs) => this.executeOverSocket(args),
        subscribe: (args: ExecutionArgs) => this.startSubscription(args),
        // errors graphql-ws sends itself: its validation of the document (uncoded, as Apollo's
        // GRAPHQL_VALIDATION_FAILED) and refused starts (coded); masked exactly like the HTTP path's
        onError: (ctx, _id, _payload, errors) => {
          const admin = this.connections.get(ctx.extra.socket)?.user.roles.includes('ADMIN') ?? false;
          return errors.map((e) => this.formatSocketError(e, admin));
        },
        onClose: (ctx) => this.closeConnection(ctx.extra.socket),
      },
      this.wss,
    );
    this.recheckTimer = this.startTokenRechecks();
    this.stopDisconnects = listenForDisconnects(this.hub, opts.prefix, opts.redis, (userId, reason) =>
      this.disconnect(userId, reason),
    );
  }

  private createEngine(): LiveEngine {
    const { opts } = this;
    const { delivered, shaped, latency, started } = this.metrics;
    return new LiveEngine({
      hub: this.hub,
      prefix: opts.prefix,
      apollo: opts.apollo,
      log: opts.log,
      maxQueue: opts.limits.maxQueue,
      maxBufferedBytes: opts.limits.maxBufferedBytes,
      gate: this.gate,
      metrics: {
        delivered,
        shaped,
        latency,
        active: { inc: () => (this.activeSubscriptions++, started.inc()), dec: () => this.activeSubscriptions-- },
      },
      ...(opts.access ? { access: opts.access } : {}),
      ...(opts.held ? { held: opts.held } : {}),
      ...(opts.check ? { check: opts.check } : {}),
    });
  }

  /** An error graphql-ws sends itself, formatted as the HTTP path formats it. */
  private formatSocketError(e: GraphQLError, admin: boolean): GraphQLFormattedError {
    const json = e.toJSON();
    const code = json.extensions?.code;
    // graphql-ws's own validation errors carry no code: Apollo would have tagged them so
    const tagged = code ? json : { ...json, extensions: { ...json.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } };
    let out: GraphQLFormattedError = this.opts.formatError
      ? this.opts.formatError(tagged, e)
      : {
          message: e.message,
          extensions: { code: typeof code === 'string' && code.includes('-') ? code : ErrorCode.InvalidRequest },
        };
    // "Did you mean …?" reveals the schema: only where introspection is allowed, as over HTTP
    if (!this.opts.introspection && !admin && / ?Did you mean /.test(out.message))
      out = { ...out, message: withoutSuggestions(out.message) };
    return out;
  }

  /** connection_init: the token checked as over HTTP, the per-user connection limit, the connection's state. */
  private async openConnection({ socket, request }: SocketExtra, params: Record<string, unknown> | undefined): Promise<boolean> {
    const { limits } = this.opts;
    const authorization = tokenFrom(params);
    if (!authorization) {
      socket.close(LiveClose.Unauthorized, 'AUTH-001: connection_init needs an access token');
      return false;
    }
    let user: UserContext;
    try {
      user = await this.opts.authenticate(authorization);
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
    const count = this.perUser.get(user.userId) ?? 0;
    if (count >= limits.connectionsPerUser) {
      socket.close(LiveClose.TooManyConnections, 'API-001: too many live connections');
      return false;
    }
    this.perUser.set(user.userId, count + 1);
    const now = Date.now();
    const conn: Connection = {
      id: randomUUID(),
      socket,
      authorization,
      user,
      checkedAt: now,
      nextCheckAt: now + this.recheckMs,
      clientIp: this.opts.clientAddress ? this.opts.clientAddress(request) : (request.socket.remoteAddress ?? null),
      subscriptions: 0,
      starting: 0,
      gate: new StartGate(limits.concurrentStartsPerConnection, limits.subscriptionsPerConnection, (reason) =>
        this.metrics.dropped.inc({ reason }),
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
    this.connections.set(socket, conn);
    return true;
  }

  /**
   * A `subscribe` message: the connection's budget first (nothing parsed beyond it), its
   * subscription limit, then parse and validate here rather than in graphql-ws, which takes a
   * syntax error for an internal one and closes the whole socket with 4500.
   */
  private admitOperation(socket: WebSocket, payload: SubscribePayload): readonly GraphQLError[] | ExecutionArgs {
    const { limits } = this.opts;
    const conn = this.connections.get(socket);
    if (!conn) return [new GraphQLError('Not connected', { extensions: { code: ErrorCode.TokenInvalid } })];
    if (!conn.budget.take()) {
      this.metrics.dropped.inc({ reason: 'rate' });
      return [
        new GraphQLError('Too many operations started on this connection; slow down', {
          extensions: { code: ErrorCode.RateLimited, retryAfter: conn.budget.retryAfter() },
        }),
      ];
    }
    if (conn.subscriptions + conn.starting >= limits.subscriptionsPerConnection) {
      return [new GraphQLError('Too many subscriptions on this connection', { extensions: { code: ErrorCode.RateLimited } })];
    }
    const schema = this.opts.schema();
    if (!schema) return [new GraphQLError('Schema not loaded yet', { extensions: { code: ErrorCode.ServiceUnavailable } })];
    const document = this.documentFor(schema, payload.query);
    if (!('kind' in document)) return document;
    return { schema, document, operationName: payload.operationName ?? null, variableValues: payload.variables ?? null };
  }

  /**
   * A subscription's document, parsed and validated once per schema and query text: thousands of
   * board tabs send the same text, and the engine's plans and payloads are then shared by document.
   */
  private documentFor(schema: GraphQLSchema, query: string): DocumentNode | readonly GraphQLError[] {
    let bySchema = this.documents.get(schema);
    if (!bySchema) this.documents.set(schema, (bySchema = new Map()));
    const hit = bySchema.get(query);
    if (hit) return hit;
    let out: DocumentNode | readonly GraphQLError[];
    try {
      const { maxTokens } = this.opts.limits;
      const document = parse(query, maxTokens ? { maxTokens } : undefined);
      const invalid = validate(schema, document);
      out = invalid.length ? invalid : document;
    } catch (err) {
      out = [err instanceof GraphQLError ? err : new GraphQLError('Syntax Error')];
    }
    if (bySchema.size >= MAX_DOCUMENTS) bySchema.delete(bySchema.keys().next().value!);
    bySchema.set(query, out);
    return out;
  }

  /** A query or mutation sent over the socket: through the gateway like an HTTP one, as the connection's user. */
  private async executeOverSocket(args: ExecutionArgs): Promise<ExecutionResult> {
    const conn = this.connections.get((args.contextValue as { socket: WebSocket }).socket)!;
    const user = await this.subscriberFor(conn)
      .user()
      .catch(() => null);
    if (!user)
      return { errors: [new GraphQLError('Access token invalid or expired', { extensions: { code: ErrorCode.TokenInvalid } })] };
    const type = getOperationAST(args.document, args.operationName)?.operation ?? 'query';
    const name = operationNameOf(args);
    const res = await traceOperation(
      `graphql-ws ${type}`,
      'server',
      { 'graphql.operation.type': type, ...(name ? { 'graphql.operation.name': name } : {}) },
      () =>
        this.opts.apollo.executeOperation(
          {
            query: print(args.document),
            variables: args.variableValues as Record<string, unknown>,
            operationName: args.operationName ?? undefined,
          },
          { contextValue: this.opts.context(user, randomUUID(), conn.clientIp, 'socket') },
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
  }

  /** A subscription: started by the live engine, counted against the connection while it lives. */
  private async startSubscription(args: ExecutionArgs) {
    const { socket, alive, id } = args.contextValue as { socket: WebSocket; alive: () => boolean; id: string };
    const conn = this.connections.get(socket)!;
    conn.starting++;
    // a `next` message as graphql-ws writes it, around a payload serialized once for every subscriber
    // who shares it (graphql-ws itself would serialize it per subscriber), as a text frame
    const prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
    const send = (payloadJson: Buffer, delivery: Delivery) => {
      if (socket.readyState === socket.OPEN && alive()) this.outbox.queue(socket, [prefix, payloadJson, CLOSE_BRACE], delivery);
    };
    let result: Awaited<ReturnType<LiveEngine['subscribe']>>;
    try {
      result = await this.engine.subscribe(args, this.subscriberFor(conn), alive, send);
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
  }

  private closeConnection(socket: WebSocket): void {
    const conn = this.connections.get(socket);
    if (!conn) return;
    this.connections.delete(socket);
    clearTimeout(conn.expiryTimer);
    const uid = conn.user.userId!;
    const left = (this.perUser.get(uid) ?? 1) - 1;
    if (left <= 0) this.perUser.delete(uid);
    else this.perUser.set(uid, left);
  }

  /** The subscriber's presence, sent by the gateway for them (a trace of its own: `live Presence`). */
  private heartbeat(conn: Connection, projectId: string, online: boolean): Promise<unknown> {
    return traceOperation(
      'live Presence',
      'consumer',
      { 'graphql.operation.type': 'mutation', 'graphql.operation.name': 'Presence' },
      () =>
        this.opts.apollo.executeOperation(
          {
            query: 'mutation Presence($p: ID!, $o: Boolean, $c: String) { heartbeat(projectId: $p, online: $o, clientId: $c) }',
            // this process holds the user's presence: another gateway's offline does not end it
            variables: { p: projectId, o: online, c: this.presenceHolder },
          },
          { contextValue: this.opts.context(conn.user, randomUUID(), conn.clientIp) },
        ),
    ).catch((err: unknown) => this.opts.log.debug({ err }, 'presence heartbeat failed'));
  }

  /** What the live engine sees of a connection. */
  private subscriberFor(conn: Connection): Subscriber {
    return {
      gate: conn.gate,
      join: (projectId) => this.presence.join(conn.user.userId!, projectId, (p, online) => this.heartbeat(conn, p, online)),
      freshUser: () => (Date.now() - conn.checkedAt <= TOKEN_FRESH_MS ? conn.user : null),
      user: async () => {
        if (Date.now() - conn.checkedAt <= TOKEN_FRESH_MS) return conn.user;
        // one check for all of the connection's subscriptions at once (expired or revoked → AUTH-002)
        conn.recheck ??= this.checkToken(conn.authorization)
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
      context: (user, clientOperation) =>
        this.opts.context(user, randomUUID(), conn.clientIp, clientOperation ? 'socket' : undefined),
      close: (code, reason) => conn.socket.close(code, reason.slice(0, 120)),
      buffered: () => conn.socket.bufferedAmount + this.outbox.pendingBytes(conn.socket),
    };
  }

  /** The token's check, shared with the other connections of the same token while fresh. */
  private checkToken(authorization: string | undefined): Promise<UserContext> {
    const key = authorization ?? '';
    const now = Date.now();
    const hit = this.tokenChecks.get(key);
    if (hit && now - hit.at <= TOKEN_FRESH_MS) return hit.result;
    const result = this.opts.authenticate(authorization);
    const entry = { at: now, result };
    this.tokenChecks.set(key, entry);
    result.catch(() => {
      if (this.tokenChecks.get(key) === entry) this.tokenChecks.delete(key);
    });
    return result;
  }

  /**
   * Idle connections see no event that would re-check their token: every connection is checked
   * again at least every `authRecheckMs`, and one whose token was revoked (or whose session ended)
   * is closed with 4403, ending its subscriptions and the presence kept for them.
   */
  private startTokenRechecks(): NodeJS.Timeout {
    const timer = setInterval(
      () => {
        const now = Date.now();
        for (const [key, check] of this.tokenChecks) if (now - check.at > TOKEN_FRESH_MS) this.tokenChecks.delete(key);
        for (const conn of this.connections.values()) {
          if (conn.nextCheckAt > now || conn.recheck) continue;
          conn.nextCheckAt = now + this.recheckMs;
          this.subscriberFor(conn)
            .user()
            .catch((err: unknown) => {
              if (err instanceof AppError && err.code === ErrorCode.TokenInvalid) {
                conn.socket.close(LiveClose.Forbidden, `${err.code}: ${err.message}`.slice(0, 120));
              } else this.opts.log.debug({ err }, 'live token re-check failed; tried again later');
            });
        }
      },
      Math.min(1000, this.recheckMs),
    );
    timer.unref();
    return timer;
  }

  /** Closes the matching sockets of this process; returns how many. */
  disconnect(userId: string | null, reason: string): number {
    let n = 0;
    for (const conn of this.connections.values()) {
      if (userId && conn.user.userId !== userId) continue;
      conn.socket.close(LiveClose.Disconnected, `Disconnected by an operator: ${reason}`.slice(0, 120));
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    clearInterval(this.recheckTimer);
    await (
      await this.stopDisconnects.catch(() => null)
    )?.();
    for (const conn of this.connections.values()) conn.socket.close(LiveClose.GoingAway, 'Server shutting down');
    await this.serverHandle.dispose();
    await new Promise<void>((r) => this.wss.close(() => r()));
    // users whose offline waits out its grace: say it now, the process is going (bounded: a slow
    // users subgraph must not hold the shutdown; presence then expires by itself)
    await Promise.race([this.presence.flush(), new Promise((r) => setTimeout(r, PRESENCE_FLUSH_MS).unref())]);
    await this.hub.close();
  }
}
