import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ANONYMOUS, createLogger, createRedis, RedisKeys, signContext, type UserContext } from '@tm/kit/infra';
import { createRemoteJWKSet, jwtVerify } from 'jose';

/**
 * The peers live in their own install (tools/bench/peers, `npm run bench` installs it): they want a
 * newer Node than the services, and nothing else needs them. Hive brings its own graphql, so the
 * errors thrown to it come from that copy.
 */
const peerRequire = createRequire(path.resolve(__dirname, '../../bench/peers/package.json'));
const { GraphQLError } = peerRequire('graphql') as typeof import('graphql');

/** The part of Hive Gateway's plugin interface this file uses. */
interface GatewayPlugin<C> {
  onContextBuilding?(payload: {
    context: { request: Request } & Partial<C>;
    extendContext(extra: Partial<C>): void;
  }): Promise<void> | void;
  onFetch?(payload: { url: string; options: RequestInit; setOptions(options: RequestInit): void; context: unknown }): void;
}
interface HiveGatewayModule {
  createGatewayRuntime<C>(config: Record<string, unknown> & { plugins: () => GatewayPlugin<C>[] }): ((
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ) => Promise<void>) & {
    dispose?(): Promise<void>;
  };
}
const { createGatewayRuntime } = peerRequire('@graphql-hive/gateway') as HiveGatewayModule;

/**
 * The peer gateway of the bench: Hive Gateway (@graphql-hive/gateway's runtime, its defaults) in one
 * process, no clustering, on a supergraph file. `HIVE_ROUTER_RUNTIME=1` swaps in the Rust query
 * planner (@graphql-hive/router-runtime).
 *
 * For a fair comparison it does the same per-request work as our gateway's HTTP path: verifies the
 * access token (ES256 JWT against the same JWKS, same claims, with jose as ours does), checks
 * revocation in Redis (token version, ended session: one MGET, as ours), and sends every subgraph
 * request the HMAC-signed user context (`x-tm-context`) our subgraphs require.
 */
const env = process.env;
const port = Number(env.PORT ?? 0);
const secret = env.INTERNAL_SECRET ?? '';
const log = createLogger('peer-gateway', 'warn');
const redis = env.REDIS_URL ? createRedis(env.REDIS_URL, env.REDIS_PREFIX ?? 'tm:', log) : null;
const jwks = env.JWKS_URL ? createRemoteJWKSet(new URL(env.JWKS_URL), { cooldownDuration: 1000, cacheMaxAge: 60_000 }) : null;

async function authenticate(authorization: string | null): Promise<UserContext> {
  if (!authorization || !jwks) return ANONYMOUS;
  const m = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(authorization.trim());
  if (!m)
    throw new GraphQLError('Authorization header must be "Bearer <access token>"', {
      extensions: { code: 'AUTH-002', http: { status: 401 } },
    });
  let payload;
  try {
    ({ payload } = await jwtVerify(m[1]!, jwks, {
      issuer: 'tm-users',
      audience: 'tm-api',
      algorithms: ['ES256'],
      typ: 'at+jwt',
      clockTolerance: 5,
    }));
  } catch {
    throw new GraphQLError('Access token invalid or expired', { extensions: { code: 'AUTH-002', http: { status: 401 } } });
  }
  const userId = typeof payload.sub === 'string' ? payload.sub : null;
  const sessionId = typeof payload.sid === 'string' ? payload.sid : null;
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((r: unknown): r is string => typeof r === 'string') : [];
  if (!userId || !sessionId)
    throw new GraphQLError('Access token invalid', { extensions: { code: 'AUTH-002', http: { status: 401 } } });
  if (redis) {
    const [version, revoked] = await redis.mget(RedisKeys.tokenVersion(userId), RedisKeys.revokedSession(sessionId));
    if (revoked || (version !== null && Number(payload.tv ?? 0) < Number(version))) {
      throw new GraphQLError('Access token revoked', { extensions: { code: 'AUTH-002', http: { status: 401 } } });
    }
  }
  return { userId, roles, sessionId };
}

interface TmContext {
  tmUser?: UserContext;
  tmCorrelationId?: string;
}

const authPlugin: GatewayPlugin<TmContext> = {
  async onContextBuilding({ context, extendContext }) {
    const user = await authenticate(context.request.headers.get('authorization'));
    extendContext({ tmUser: user, tmCorrelationId: context.request.headers.get('x-correlation-id') ?? randomUUID() });
  },
};

/** Subgraph names by URL, from the supergraph (a signed context names the subgraph it is for). */
const subgraphByUrl = new Map(
  [...readFileSync(env.SUPERGRAPH_PATH!, 'utf8').matchAll(/@join__graph\(name:\s*"([\w-]+)",\s*url:\s*"([^"]+)"\)/g)].map((m) => [
    m[2]!,
    m[1]!,
  ]),
);

/** Signs each subgraph fetch for its subgraph and its exact body, as our gateway does. */
const signPlugin: GatewayPlugin<TmContext> = {
  onFetch({ url, options, setOptions, context }) {
    const tm = context as Partial<TmContext>;
    const user = tm.tmUser ?? ANONYMOUS;
    const correlationId = tm.tmCorrelationId ?? 'internal';
    const body = typeof options.body === 'string' ? options.body : '';
    const service = subgraphByUrl.get(url) ?? '';
    const headers = { ...(options.headers as Record<string, string> | undefined) };
    headers['x-tm-context'] = signContext({ ...user, correlationId, clientIp: '127.0.0.1' }, secret, { service, body });
    headers['x-correlation-id'] = correlationId;
    setOptions({ ...options, headers });
  },
};

async function main(): Promise<void> {
  const routerRuntime = env.HIVE_ROUTER_RUNTIME === '1';
  const gateway = createGatewayRuntime<TmContext>({
    supergraph: readFileSync(env.SUPERGRAPH_PATH!, 'utf8'),
    logging: 'error',
    landingPage: false,
    graphiql: false,
    plugins: () => [authPlugin, signPlugin],
    // Hive de-duplicates identical subgraph fetches in flight by default, keyed before onFetch adds
    // the signed user context: users asking the same thing would share one answer (another user's
    // view, and a free speed-up ours does not take). Off, as ours (SUBGRAPH_DEDUP=off in this part).
    transportEntries: { '*.http': { options: { deduplicateInflightRequests: false } } } as never,
    ...(routerRuntime
      ? {
          unifiedGraphHandler: (peerRequire('@graphql-hive/router-runtime') as { unifiedGraphHandler: unknown })
            .unifiedGraphHandler,
        }
      : {}),
  });
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    void gateway(req, res);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1');
  const stop = () => {
    server.close();
    void gateway.dispose?.();
    void redis?.quit();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
