import type http from 'node:http';
import { ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { classify, HTTP_STATUS, type LocalPermissions, PermissionsClient, UserDirectory } from '@tm/kit/contracts';
import { createFormatError, operationMetricsPlugin } from '@tm/kit/graphql';
import {
  AuditRecordModel,
  closeServer,
  connectMongo,
  createHttpApp,
  createLogger,
  createMetrics,
  createRedis,
  currentScope,
  installShutdown,
  introspectionEnabled,
  listen,
  loadConfig,
  type Logger,
  metricsSettings,
  pingRedis,
  redisReady,
  redisSettings,
  RedisKeys,
  sendJson,
  standardRoutes,
  startTracing,
  TrackedCache,
} from '@tm/kit/infra';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { attachRealtime, type Realtime } from './realtime/socket-server';
import { clientAddress, createAuthenticator } from './auth';
import { gatewayConfigSchema, subgraphUrl, type GatewayConfig } from './config';
import type { GatewayContext } from './gateway.context';
import { createSubgraphFetcher, SignedDataSource, subgraphFetchHistogram, timedFetcher } from './subgraph.datasource';
import { PlanExecutingGateway } from './executor';
import { gatewayHealthRoute } from './subgraph.health';
import { fileSupergraph, subgraphsOf, type SubgraphInfo } from './supergraph';
import { AuditEntryModel, createOpsPlane, OPS_SUBGRAPH } from './ops';

export interface RunningGateway {
  port: number;
  url: string;
  config: GatewayConfig;
  log: Logger;
  server: http.Server;
  stop(): Promise<void>;
  realtime: Realtime;
}

/** Starts the gateway: Apollo Server over @apollo/gateway on the committed supergraph. */
export async function startGateway(env: NodeJS.ProcessEnv = process.env): Promise<RunningGateway> {
  const config = loadConfig(gatewayConfigSchema, { ...env, PORT: env.GATEWAY_PORT ?? env.PORT });
  const log = createLogger('gateway', config.LOG_LEVEL);
  // /metrics on METRICS_PORT (GATEWAY_METRICS_PORT) and/or behind METRICS_TOKEN (kit http.ts)
  const metrics = createMetrics('gateway', metricsSettings('gateway', env));
  const deps = connectDependencies(config, log, metrics);
  if (config.APOLLO_TELEMETRY === 'off') {
    // read by the ApolloGateway constructor; without it every gateway phones home
    process.env.APOLLO_TELEMETRY_DISABLED = 'true';
    process.env.METADATA_SERVER_DETECTION ??= 'none';
  }
  let subgraphs: SubgraphInfo[] = [];
  const ops = await createOps(config, deps, log, metrics, () => subgraphs);
  // OpenTelemetry traces when an OTLP endpoint is set, sampled at the rate the ops settings say
  const tracing = startTracing({ service: 'gateway', config, log, settings: ops.settings });
  const { gateway, executing } = createPlanningGateway(config, env, log, metrics, ops, deps.fetcher, (next) => {
    subgraphs = next;
  });
  const formatError = createFormatError(log, metrics);
  const apollo = createApollo(config, executing, ops, log, metrics, formatError);
  let apiSchema: GraphQLSchema | undefined;
  // the schema that socket operations are validated against, kept current with the supergraph
  gateway.onSchemaLoadOrUpdate(({ apiSchema: next }) => {
    apiSchema = next;
  });
  await apollo.start();

  const server = serveHttp(config, deps, log, metrics, ops, apollo, () => subgraphs);
  const realtime = attachLive(
    config,
    deps,
    log,
    metrics,
    ops,
    { server, apollo, formatError },
    () => apiSchema,
    () => subgraphs,
  );
  const port = await listen(server, config.PORT, config.HOST);
  await redisReady(deps.redis);
  if (deps.reads !== deps.redis) await redisReady(deps.reads);
  await ops.start();
  log.info(
    { port, ...(metrics.settings.port ? { metricsPort: metrics.settings.port } : {}) },
    `gateway listening: http://localhost:${port}/graphql`,
  );

  const stop = installShutdown(
    log,
    {
      realtime: () => realtime.close(),
      http: () => closeServer(server),
      apollo: () => apollo.stop(),
      tracing: () => tracing.shutdown(),
      ops: () => ops.close(),
      fetcher: () => deps.closeFetcher(),
      mongo: () => deps.mongo.close(),
      redis: () => deps.redis.quit().catch(() => deps.redis.disconnect()),
      reads: async () => {
        await deps.localPermissions?.close();
        if (deps.reads !== deps.redis) await deps.reads.quit().catch(() => deps.reads.disconnect());
      },
    },
    config.SHUTDOWN_TIMEOUT_MS,
  );
  return { port, url: `http://${config.HOST}:${port}/graphql`, config, log, server, stop, realtime };
}

type Metrics = ReturnType<typeof createMetrics>;
type Dependencies = ReturnType<typeof connectDependencies>;
type OpsPlane = Awaited<ReturnType<typeof createOpsPlane>>;

/** Redis, the store (the ops plane's audit log), token checks and the subgraph fetcher. */
function connectDependencies(config: GatewayConfig, log: Logger, metrics: Metrics) {
  // every Redis command bounded (REDIS_COMMAND_TIMEOUT_MS): a hung Redis gives DB-001, never a hang
  const redis = createRedis(redisSettings(config), config.REDIS_PREFIX, log, 'main', {
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  });
  // the hot plain reads (token versions, memberships) auto-pipelined on a client of their own: never
  // one with scripts defined on it (an auto-pipeline made before a defineCommand lacks the command,
  // and ioredis then throws out of its callback), so the rate limiter keeps the main client
  const reads =
    config.REDIS_AUTO_PIPELINING === 'on'
      ? createRedis(redisSettings(config), config.REDIS_PREFIX, log, 'reads', {
          commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
          autoPipelining: true,
        })
      : redis;
  // the JWKS is served by users: its origin also answers token-version look-ups
  const directory = new UserDirectory(new URL(config.JWKS_URL).origin, config.INTERNAL_SECRET, log);
  const authenticate = createAuthenticator(config.JWKS_URL, reads, (userId) => directory.tokenVersion(userId));
  const mongo = connectMongo({
    url: config.MONGO_URL,
    dbName: config.MONGO_DB,
    log,
    models: [AuditRecordModel, AuditEntryModel],
    commandCounter: metrics.mongoCommands,
    timeoutMS: config.MONGO_TIMEOUT_MS,
  });
  const { fetcher, close: closeFetcher } = createSubgraphFetcher(config.SUBGRAPH_TIMEOUT_MS, {
    dedup: config.SUBGRAPH_DEDUP === 'on',
  });
  // the live engine's membership checks answered in the process, kept exact by Redis's invalidations
  // (kit tracked.ts; not on a cluster, where tracking is per node)
  const localPermissions =
    config.PERMISSIONS_LOCAL_CACHE === 'on' && redisSettings(config).mode !== 'cluster'
      ? new TrackedCache<LocalPermissions>(reads, redisSettings(config), config.REDIS_PREFIX, RedisKeys.permissions(''), log)
      : undefined;
  return { redis, reads, authenticate, mongo, fetcher, closeFetcher, localPermissions };
}

/** Platform controls: the in-process ops subgraph, request guard, breakers, audit log (README: Operations). */
function createOps(config: GatewayConfig, deps: Dependencies, log: Logger, metrics: Metrics, subgraphs: () => SubgraphInfo[]) {
  return createOpsPlane({
    redis: deps.redis,
    redisTarget: redisSettings(config),
    prefix: config.REDIS_PREFIX,
    log,
    metrics,
    mongo: deps.mongo,
    logLevel: config.LOG_LEVEL,
    rateLimit: { requestsPerMinute: config.RATE_LIMIT_PER_MINUTE, burst: config.RATE_LIMIT_BURST },
    limits: {
      maxDepth: config.OP_MAX_DEPTH,
      maxAliases: config.OP_MAX_ALIASES,
      maxDirectives: config.OP_MAX_DIRECTIVES,
      maxRootFields: config.OP_MAX_ROOT_FIELDS,
      maxTokens: config.OP_MAX_TOKENS,
      maxCost: config.OP_MAX_COST,
      defaultListSize: config.OP_DEFAULT_LIST_SIZE,
    },
    introspection: introspectionEnabled(config),
    subgraphs,
    gatewayReady: async () => (await pingRedis(deps.redis)) && deps.mongo.isUp(),
  });
}

/**
 * @apollo/gateway on the watched supergraph file (composition and planning), each subgraph behind a
 * signed data source and its circuit breaker; our executor runs the plans (GATEWAY_EXECUTOR=apollo: theirs).
 */
function createPlanningGateway(
  config: GatewayConfig,
  env: NodeJS.ProcessEnv,
  log: Logger,
  metrics: Metrics,
  ops: OpsPlane,
  fetcher: Dependencies['fetcher'],
  onSubgraphs: (subgraphs: SubgraphInfo[]) => void,
) {
  const dataSources = new Map<string, GraphQLDataSource>();
  const fetchDuration = subgraphFetchHistogram(metrics.registry);
  const gateway = new ApolloGateway({
    supergraphSdl: fileSupergraph(config.SUPERGRAPH_PATH, log, (sdl) =>
      // the ops subgraph runs in this process: no URL to probe or call
      onSubgraphs(
        subgraphsOf(sdl)
          .filter((s) => s.name !== OPS_SUBGRAPH)
          .map((s) => ({ name: s.name, url: subgraphUrl(s.name, s.url, env) })),
      ),
    ),
    buildService: ({ name, url }) => {
      const source =
        name === OPS_SUBGRAPH
          ? ops.dataSource()
          : new SignedDataSource(
              subgraphUrl(name, url, env),
              ops.breakers.wrap(name, timedFetcher(name, fetchDuration, fetcher)),
              config.INTERNAL_SECRET,
              name,
            );
      dataSources.set(name, source);
      return source;
    },
  });
  const executing = new PlanExecutingGateway(gateway, (name) => dataSources.get(name), log, {
    enabled: config.GATEWAY_EXECUTOR === 'fast',
    batching: config.SUBGRAPH_BATCHING === 'on',
    registry: metrics.registry,
    cacheRequests: metrics.cacheRequests,
  });
  return { gateway, executing };
}

function createApollo(
  config: GatewayConfig,
  executing: PlanExecutingGateway,
  ops: OpsPlane,
  log: Logger,
  metrics: Metrics,
  formatError: ReturnType<typeof createFormatError>,
): ApolloServer<GatewayContext> {
  const landing = config.LANDING_PAGE ?? (config.NODE_ENV === 'production' ? 'off' : 'explorer');
  return new ApolloServer<GatewayContext>({
    gateway: executing,
    formatError,
    // decided per request by the ops guard: production answers introspection for ADMIN tokens only
    introspection: true,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    validationRules: ops.validationRules,
    parseOptions: { maxTokens: config.OP_MAX_TOKENS },
    plugins: [
      ops.plugin,
      operationMetricsPlugin(metrics, log),
      landing === 'explorer'
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
}

/** The HTTP server: the standard routes, the gateway's health and subgraph list, and GraphQL over HTTP. */
function serveHttp(
  config: GatewayConfig,
  deps: Dependencies,
  log: Logger,
  metrics: Metrics,
  ops: OpsPlane,
  apollo: ApolloServer<GatewayContext>,
  subgraphs: () => SubgraphInfo[],
): http.Server {
  const buildContext = contextBuilder(deps.authenticate, log);
  return createHttpApp<GatewayContext>({
    log,
    metrics,
    corsOrigins: config.CORS_ORIGINS,
    responseHeaders: ops.responseHeaders,
    routes: {
      ...standardRoutes('gateway', { redis: () => pingRedis(deps.redis) }, metrics),
      '/health': gatewayHealthRoute(subgraphs),
      '/subgraphs': (_req, res) => sendJson(res, 200, { subgraphs: subgraphs().map((s) => s.name) }),
    },
    graphql: {
      path: '/graphql',
      server: apollo,
      context: (req, correlationId) =>
        buildContext(req.headers.authorization, correlationId, clientAddress(req, config.TRUST_PROXY), 'http'),
    },
  });
}

/** graphql-ws on the HTTP server's /graphql, validated against the current API schema. */
function attachLive(
  config: GatewayConfig,
  deps: Dependencies,
  log: Logger,
  metrics: Metrics,
  ops: OpsPlane,
  served: { server: http.Server; apollo: ApolloServer<GatewayContext>; formatError: ReturnType<typeof createFormatError> },
  apiSchema: () => GraphQLSchema | undefined,
  subgraphs: () => SubgraphInfo[],
): Realtime {
  return attachRealtime({
    server: served.server,
    path: '/graphql',
    apollo: served.apollo,
    schema: apiSchema,
    authenticate: deps.authenticate,
    context: (user, correlationId, clientIp, transport) => ({
      user,
      correlationId,
      log,
      clientIp,
      ...(transport ? { transport } : {}),
    }),
    redis: deps.redis,
    redisTarget: redisSettings(config),
    prefix: config.REDIS_PREFIX,
    log,
    registry: metrics.registry,
    // socket errors masked like HTTP ones; the client's address as over HTTP (TRUST_PROXY)
    formatError: served.formatError,
    introspection: introspectionEnabled(config),
    clientAddress: (req) => clientAddress(req, config.TRUST_PROXY),
    limits: liveLimits(config),
    ...(config.LIVE_SHARED_RESOLUTION === 'on'
      ? liveAccess(config, deps.reads, deps.localPermissions, log, metrics, ops, subgraphs)
      : {}),
  });
}

/** One way to build the request context, for every transport: the caller's token checked, coded errors. */
function contextBuilder(authenticate: Dependencies['authenticate'], log: Logger) {
  return async (
    authorization: string | undefined,
    correlationId: string,
    clientIp: string | null = null,
    transport?: 'http',
  ): Promise<GatewayContext> => {
    try {
      const user = await authenticate(authorization);
      const scope = currentScope();
      if (scope) scope.userId = user.userId;
      return { user, correlationId, log, clientIp, transport };
    } catch (err) {
      const app = classify(err);
      if (app) {
        throw new GraphQLError(app.message, { extensions: { code: app.code, http: { status: HTTP_STATUS[app.code] ?? 400 } } });
      }
      throw new GraphQLError('Authentication unavailable', { originalError: err as Error });
    }
  };
}

/** The live endpoint's limits from the configuration. */
function liveLimits(config: GatewayConfig) {
  return {
    authRecheckMs: config.LIVE_AUTH_RECHECK_SECONDS * 1000,
    connectionsPerUser: config.LIVE_MAX_CONNECTIONS_PER_USER,
    subscriptionsPerConnection: config.LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION,
    maxMessageBytes: config.LIVE_MAX_MESSAGE_BYTES,
    maxQueue: config.LIVE_MAX_QUEUED_EVENTS,
    maxBufferedBytes: config.LIVE_MAX_BUFFERED_BYTES,
    heartbeatMs: config.LIVE_HEARTBEAT_SECONDS * 1000,
    presenceGraceMs: config.LIVE_PRESENCE_GRACE_MS,
    concurrentStarts: config.LIVE_MAX_CONCURRENT_STARTS,
    concurrentStartsPerConnection: config.LIVE_MAX_CONCURRENT_STARTS_PER_CONNECTION,
    waitingStarts: config.LIVE_MAX_WAITING_STARTS,
    subscribeMessagesPerSecond: config.LIVE_SUBSCRIBE_RATE,
    subscribeMessagesBurst: config.LIVE_SUBSCRIBE_BURST,
    maxTokens: config.OP_MAX_TOKENS,
  };
}

/**
 * Shared live resolution: membership from the permissions cache (one client per projects URL, the
 * supergraph may move it) and the request path's checks without executing.
 */
function liveAccess(
  config: GatewayConfig,
  redis: Dependencies['redis'],
  local: Dependencies['localPermissions'],
  log: Logger,
  metrics: Metrics,
  ops: OpsPlane,
  subgraphs: () => SubgraphInfo[],
) {
  let permissions: { url: string; client: PermissionsClient } | null = null;
  const permissionsClient = (): PermissionsClient | null => {
    const projects = subgraphs().find((s) => s.name === 'projects');
    if (!projects) return null;
    if (permissions?.url !== projects.url)
      permissions = {
        url: projects.url,
        client: new PermissionsClient(redis, projects.url, config.INTERNAL_SECRET, log, metrics, local),
      };
    return permissions.client;
  };
  return {
    access: (userId: string, projectId: string) => {
      const client = permissionsClient();
      return client ? client.access(userId, projectId) : Promise.resolve(null);
    },
    held: (userId: string, projectId: string) => permissionsClient()?.held(userId, projectId),
    check: ops.checkOperation,
  };
}
