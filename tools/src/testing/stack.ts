import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { testEnv } from './env';
import { gql, type GqlResponse } from './graphql';
import { freePort } from '../net';
import { gatewayFlagsEnv, profileEnv, REPO_ROOT, spawnService, type ServiceProcess } from './processes';

/** Every domain subgraph of the supergraph (schema/subgraphs.json, without those the gateway serves itself). */
export function allSubgraphs(): string[] {
  const list = JSON.parse(readFileSync(path.join(REPO_ROOT, 'schema/subgraphs.json'), 'utf8')) as {
    subgraphs: Array<{ name: string; servedBy?: string }>;
  };
  return list.subgraphs.filter((s) => !s.servedBy).map((s) => s.name);
}

export interface Stack {
  env: NodeJS.ProcessEnv;
  services: Record<string, ServiceProcess>;
  gateway: ServiceProcess;
  /** Calls a subgraph directly with a context signed as the gateway would (for admin paths before an admin exists). */
  /** Another gateway process on the same subgraphs, Redis and prefix (several gateways behind a balancer). */
  addGateway(extra?: NodeJS.ProcessEnv): Promise<ServiceProcess>;
  direct(
    service: string,
    query: string,
    variables: Record<string, unknown>,
    user: { userId: string; roles: string[] },
  ): Promise<GqlResponse>;
  stop(): Promise<void>;
}

/**
 * Starts the given subgraphs (built code, child processes, free ports) and a gateway in front of
 * them, with one database prefix and Redis key prefix for the test file.
 */
export async function startStack(label: string, subgraphs: string[], extra: NodeJS.ProcessEnv = {}): Promise<Stack> {
  const env = testEnv(label, extra);
  const services: Record<string, ServiceProcess> = {};
  const started: ServiceProcess[] = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.stop();
  };
  try {
    // every subgraph knows every other's URL (e.g. users and tasks ask projects for permissions)
    const ports = Object.fromEntries(await Promise.all(subgraphs.map(async (n) => [n, await freePort()] as const)));
    const urls = Object.fromEntries(subgraphs.map((n) => [`${n.toUpperCase()}_URL`, `http://127.0.0.1:${ports[n]}/graphql`]));
    for (const name of subgraphs) {
      const svc = await spawnService(
        name,
        `subgraphs/${name}/dist/main.js`,
        {
          ...env,
          MONGO_DB: `${env.MONGO_DB}_${name}`,
          ...urls,
          // BENCH_CPU_PROF=<dir> with BENCH_CPU_PROF_SUBGRAPHS=users,tasks: those subgraphs profiled too
          ...(process.env.BENCH_CPU_PROF_SUBGRAPHS?.split(',').includes(name) ? profileEnv(name) : {}),
        },
        ports[name],
      );
      services[name] = svc;
      started.push(svc);
    }
    const gatewayEnv = {
      ...env,
      ...urls,
      ...(services.users ? { JWKS_URL: `${services.users.base}/.well-known/jwks.json` } : {}),
      ...gatewayFlagsEnv(),
    };
    const gateway = await spawnService('gateway', 'gateway/dist/main.js', gatewayEnv);
    started.push(gateway);
    const addGateway = async (more: NodeJS.ProcessEnv = {}) => {
      const g = await spawnService('gateway', 'gateway/dist/main.js', { ...gatewayEnv, ...more });
      started.push(g);
      return g;
    };
    return {
      env,
      services,
      gateway,
      stop,
      addGateway,
      direct: (service, query, variables, user) =>
        gql(services[service]!.url, query, variables, { sign: { service, secret: env.INTERNAL_SECRET!, user } }),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Waits until the users service has created the first administrator from ADMIN_EMAIL (a start task
 * once the store is connected; seconds on a busy machine). It asks users directly with a context
 * signed as a platform admin, so no failed sign-in counts against the account's brute-force limit.
 */
export async function waitForFirstAdmin(
  usersUrl: string,
  internalSecret: string,
  email: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const q = 'query($s: String) { users(first: 1, search: $s) { edges { node { roles } } } }';
  for (;;) {
    const user = { userId: 'test-harness', roles: ['ADMIN'] };
    const r = await gql(usersUrl, q, { s: email }, { sign: { service: 'users', secret: internalSecret, user } }).catch(
      () => null,
    );
    const edges = (r?.data as { users?: { edges: Array<{ node: { roles: string[] } }> } } | undefined)?.users?.edges ?? [];
    if (edges.some((e) => e.node.roles.includes('ADMIN'))) return;
    if (Date.now() > deadline) throw new Error(`the first administrator did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Once the first administrator exists (waitForFirstAdmin), signs in as it through the stack's gateway. */
export async function signInFirstAdmin(stack: Stack, email: string, password: string): Promise<string> {
  await waitForFirstAdmin(stack.services.users!.url, stack.env.INTERNAL_SECRET!, email);
  const res = await gql<{ login: { accessToken: string } }>(
    stack.gateway.url,
    'mutation($i: LoginInput!) { login(input: $i) { accessToken } }',
    { i: { email, password } },
  );
  if (res.errors) throw new Error(`first administrator sign-in failed: ${JSON.stringify(res.errors)}`);
  return res.data!.login.accessToken;
}

export interface TestUser {
  id: string;
  email: string;
  token: string;
  name: string;
}

/** Registers a user through the gateway and returns its id and access token. */
export async function registerUser(gatewayUrl: string, name: string): Promise<TestUser> {
  const email = `${name.toLowerCase().replace(/\W/g, '')}.${randomUUID().slice(0, 8)}@example.com`;
  const res = await gql<{ register: { accessToken: string; user: { id: string } } }>(
    gatewayUrl,
    'mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }',
    { i: { email, name, password: 'test-password-1' } },
  );
  if (!res.data) throw new Error(`register failed: ${JSON.stringify(res.errors)}`);
  return { id: res.data.register.user.id, email, token: res.data.register.accessToken, name };
}
