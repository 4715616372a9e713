import { randomUUID } from 'node:crypto';
import { signContext } from '@tm/kit';
import { testEnv } from './env';
import { gql, type GqlResponse } from './graphql';
import { spawnService, type ServiceProcess } from './processes';

export interface Stack {
  env: NodeJS.ProcessEnv;
  services: Record<string, ServiceProcess>;
  gateway: ServiceProcess;
  /** Calls a subgraph directly with a context signed as the gateway would (for admin paths before an admin exists). */
  direct(service: string, query: string, variables: Record<string, unknown>, user: { userId: string; roles: string[] }): Promise<GqlResponse>;
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
    for (const name of subgraphs) {
      const svc = await spawnService(name, `subgraphs/${name}/dist/main.js`, {
        ...env,
        MONGO_DB: `${env.MONGO_DB}_${name}`,
        ...Object.fromEntries(Object.entries(services).map(([n, s]) => [`${n.toUpperCase()}_URL`, s.url])),
      });
      services[name] = svc;
      started.push(svc);
    }
    const urls = Object.fromEntries(Object.entries(services).map(([n, s]) => [`${n.toUpperCase()}_URL`, s.url]));
    const gateway = await spawnService('gateway', 'gateway/dist/main.js', {
      ...env,
      ...urls,
      ...(services.users ? { JWKS_URL: `${services.users.base}/.well-known/jwks.json` } : {}),
    });
    started.push(gateway);
    return {
      env,
      services,
      gateway,
      stop,
      direct: (service, query, variables, user) =>
        gql(services[service]!.url, query, variables, {
          headers: { 'x-tm-context': signContext({ ...user, sessionId: null, correlationId: randomUUID() }, env.INTERNAL_SECRET!) },
        }),
    };
  } catch (err) {
    await stop();
    throw err;
  }
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
