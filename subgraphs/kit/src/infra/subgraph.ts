import type http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { AuditRecordModel } from './audit';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { z } from 'zod';
import { baseConfigSchema, introspectionEnabled, loadConfig, portSchema, type BaseConfig } from './config';
import { ErrorCode } from '../contracts/errors';
import { createFormatError, operationMetricsPlugin } from '../graphql/graphql-errors';
import { standardRoutes } from './health';
import { createHttpApp, listen, requestBody, type RouteHandler } from './http';
import { createLogger, type Logger } from './logger';
import { createMetrics, type Metrics } from './metrics';
import { connectMongo, pingMongo, type MongoHandle } from './mongo';
import { createRedis, pingRedis, redisReady, redisSettings, type Redis } from './redis';
import { currentScope } from './request-scope';
import { closeServer, installShutdown } from './shutdown';
import { CONTEXT_HEADER, verifyContext, type UserContext } from './signed-context';
import { applyProcessSettings, OpsSettingsClient, readOnlyPlugin } from '../contracts/ops-settings';
import { startTracing, tracingPlugin } from './tracing';

/** What a subgraph's code gets to work with. */
export interface ServiceDeps<C extends BaseConfig = BaseConfig> {
  name: string;
  config: C;
  log: Logger;
  redis: Redis;
  mongo: MongoHandle;
  metrics: Metrics;
}

/** The part of every subgraph's GraphQL context the kit provides. */
export interface BaseContext {
  user: UserContext;
  correlationId: string;
  log: Logger;
  /** The client's address as forwarded by the gateway (signed), when known. */
  clientIp?: string | null;
}

export interface SubgraphOptions<C extends BaseConfig, Ctx extends BaseContext> {
  /** Service name as in the supergraph (`users`, `projects`, …). */
  name: string;
  defaultPort: number;
  /** Extra config for this service, merged into the base schema. */
  configShape?: z.ZodRawShape;
  models: ReadonlyArray<{ createIndexes(): Promise<unknown> }>;
  buildSchema: () => Promise<GraphQLSchema>;
  /** Called once with the service's dependencies: builds its services and says how to use them. */
  setup: (deps: ServiceDeps<C>) => SubgraphSetup<Ctx>;
  env?: NodeJS.ProcessEnv;
}

export interface SubgraphSetup<Ctx extends BaseContext> {
  /** Adds this subgraph's per-request parts (loaders, services) to the base context. */
  context: (base: BaseContext) => Ctx;
  /** Extra HTTP GET routes (e.g. the JWKS). */
  routes?: Record<string, RouteHandler>;
  /** Runs once the database is connected (e.g. ensure keys); failures are logged, not fatal. */
  onConnected?: () => Promise<void>;
  /** Runs on shutdown once requests are finished and before the stores close (e.g. stop sweeps). */
  onStop?: () => Promise<unknown>;
}

export interface RunningService<C extends BaseConfig = BaseConfig> {
  port: number;
  url: string;
  deps: ServiceDeps<C>;
  server: http.Server;
  /** Graceful stop (the same steps as on SIGTERM), without exiting the process. */
  stop(): Promise<void>;
}

/**
 * Starts a subgraph service: validated config, logger, Mongo and Redis (retrying in the
 * background), Apollo Server on the federated schema, `/graphql`, `/health`, `/ready`, `/metrics`,
 * graceful shutdown. Only requests carrying a fresh gateway-signed context are served.
 */
export async function startSubgraph<C extends BaseConfig, Ctx extends BaseContext>(
  opts: SubgraphOptions<C, Ctx>,
): Promise<RunningService<C>> {
  const config = subgraphConfig(opts);
  const log = createLogger(opts.name, config.LOG_LEVEL);
  const metrics = createMetrics(opts.name);
  const { mongo, redis } = connectStores(opts, config, log, metrics);
  const deps: ServiceDeps<C> = { name: opts.name, config, log, redis, mongo, metrics };
  const setup = opts.setup(deps);
  const { ops, tracing } = followOpsSettings(opts.name, config, log, metrics, redis);
  const apollo = await startApollo(opts, config, log, metrics, ops, tracing.enabled);
  const server = createHttpApp<Ctx>({
    log,
    metrics,
    traceRequests: 'continue',
    routes: {
      ...standardRoutes(opts.name, { mongo: () => pingMongo(mongo.connection), redis: () => pingRedis(redis) }, metrics),
      ...setup.routes,
    },
    graphql: { path: '/graphql', server: apollo, context: signedContext(opts.name, config, log, setup.context) },
  });
  const port = await listen(server, config.PORT, config.HOST);
  log.info({ port }, `${opts.name} subgraph listening`);
  if (setup.onConnected) {
    const task = setup.onConnected;
    void mongo.ready.then(task).catch((err: unknown) => log.error({ err }, 'start task failed'));
  }
  // serve at once; wait a little for the stores so the first requests mostly find them up
  await Promise.race([mongo.ready, new Promise((r) => setTimeout(r, 3000).unref())]);
  await redisReady(redis);
  await ops.start();
  const stop = installShutdown(
    log,
    {
      http: () => closeServer(server),
      apollo: () => apollo.stop(),
      service: async () => setup.onStop?.(),
      tracing: () => tracing.shutdown(),
      ops: () => ops.close(),
      mongo: () => mongo.close(),
      redis: () => redis.quit().catch(() => redis.disconnect()),
    },
    config.SHUTDOWN_TIMEOUT_MS,
  );
  return { port, url: `http://${config.HOST}:${port}/graphql`, deps, server, stop };
}

/** MongoDB (its models and the audit log's, commands counted and timed) and Redis, connecting in the background. */
function connectStores<C extends BaseConfig, Ctx extends BaseContext>(
  opts: SubgraphOptions<C, Ctx>,
  config: BaseConfig & { MONGO_DB: string },
  log: Logger,
  metrics: Metrics,
) {
  const mongo = connectMongo({
    url: config.MONGO_URL,
    dbName: config.MONGO_DB,
    log,
    models: [...opts.models, AuditRecordModel],
    commandCounter: metrics.mongoCommands,
    commandDuration: metrics.mongoCommandDuration,
    timeoutMS: config.MONGO_TIMEOUT_MS,
  });
  const redis = createRedis(redisSettings(config), config.REDIS_PREFIX, log, 'main', {
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  });
  return { mongo, redis };
}

/**
 * Platform controls set by admins through the gateway's ops subgraph (log level, PII patterns,
 * read-only), and OpenTelemetry traces when an OTLP endpoint is configured, sampled as they say.
 */
function followOpsSettings(name: string, config: BaseConfig, log: Logger, metrics: Metrics, redis: Redis) {
  const ops = new OpsSettingsClient({
    redis,
    redisTarget: redisSettings(config),
    prefix: config.REDIS_PREFIX,
    log,
    registry: metrics.registry,
  });
  ops.onChange(applyProcessSettings(name, config.LOG_LEVEL, log));
  const tracing = startTracing({ service: name, config, log, settings: () => ops.current() });
  return { ops, tracing };
}

/** Apollo Server on the federated schema: our error format, metrics, the read-only switch, traces. */
async function startApollo<C extends BaseConfig, Ctx extends BaseContext>(
  opts: SubgraphOptions<C, Ctx>,
  config: BaseConfig,
  log: Logger,
  metrics: Metrics,
  ops: OpsSettingsClient,
  traced: boolean,
): Promise<ApolloServer<Ctx>> {
  const apollo = new ApolloServer<Ctx>({
    schema: await opts.buildSchema(),
    formatError: createFormatError(log, metrics),
    introspection: introspectionEnabled(config),
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    plugins: [
      operationMetricsPlugin(metrics, log),
      ApolloServerPluginInlineTraceDisabled(),
      readOnlyPlugin(opts.name, () => ops.current()),
      ...(traced ? [tracingPlugin()] : []),
    ],
  });
  await apollo.start();
  return apollo;
}

/** The service's configuration: the kit's base schema, its database and port, and its own variables. */
function subgraphConfig<C extends BaseConfig, Ctx extends BaseContext>(opts: SubgraphOptions<C, Ctx>) {
  const env = opts.env ?? process.env;
  const portVar = `${opts.name.toUpperCase()}_PORT`;
  const schema = baseConfigSchema.extend({
    MONGO_DB: z
      .string()
      .regex(/^[\w-]{1,60}$/, 'letters, digits, _ and -')
      .default(`tm_${opts.name}`),
    PORT: portSchema(opts.defaultPort),
    ...opts.configShape,
  });
  return loadConfig(schema, { ...env, PORT: env[portVar] ?? env.PORT }) as unknown as C & { MONGO_DB: string; PORT: number };
}

/**
 * The request context of a GraphQL request: only from a context the gateway signed for this
 * service and exactly this body, recently (a captured header replays nothing else).
 */
function signedContext<Ctx extends BaseContext>(
  service: string,
  config: BaseConfig,
  log: Logger,
  build: (base: BaseContext) => Ctx | Promise<Ctx>,
) {
  return async (req: http.IncomingMessage, correlationId: string): Promise<Ctx> => {
    const header = req.headers[CONTEXT_HEADER];
    const signed = verifyContext(
      Array.isArray(header) ? header[0] : header,
      config.INTERNAL_SECRET,
      { service, body: requestBody(req) },
      config.SIGNED_CONTEXT_MAX_AGE_MS,
    );
    if (!signed) {
      throw new GraphQLError('Requests must come through the gateway', {
        extensions: { code: ErrorCode.TokenInvalid, http: { status: 401 } },
      });
    }
    const user: UserContext = { userId: signed.userId, roles: signed.roles, sessionId: signed.sessionId };
    // the gateway's correlation id, so one id spans the whole request; the request scope
    // (read by the logger and the error formatter) follows
    const cid = signed.correlationId || correlationId;
    const scope = currentScope();
    if (scope) Object.assign(scope, { correlationId: cid, userId: user.userId });
    return build({ user, correlationId: cid, log, clientIp: signed.clientIp ?? null });
  };
}
