import 'reflect-metadata';
import { ConfigError, sendJson, startSubgraph, type BaseConfig, type RunningService } from '@tm/kit';
import { z } from 'zod';
import { AuthService } from './auth/auth.service';
import { KeyRing } from './auth/keyring.service';
import { SessionModel } from './auth/session.model';
import { SessionService } from './auth/session.service';
import { SigningKeyModel } from './auth/signing-key.model';
import type { Services, UsersContext } from './context';
import { createLoaders } from './loaders';
import { buildUsersSchema } from './schema';
import { UserModel } from './user/user.model';
import { UserService } from './user/user.service';

const usersConfig = {
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(90).default(30),
};
type UsersConfig = BaseConfig & { ACCESS_TOKEN_TTL_SECONDS: number; REFRESH_TOKEN_TTL_DAYS: number };

/** Starts the users subgraph (port 4001 unless USERS_PORT/PORT say otherwise). */
export async function start(env: NodeJS.ProcessEnv = process.env): Promise<RunningService<UsersConfig>> {
  return startSubgraph<UsersConfig, UsersContext>({
    name: 'users',
    defaultPort: 4001,
    env,
    configShape: usersConfig,
    models: [UserModel, SessionModel, SigningKeyModel],
    buildSchema: buildUsersSchema,
    setup: (deps) => {
      const ttl = deps.config.ACCESS_TOKEN_TTL_SECONDS;
      const users = new UserService(deps.redis);
      const keys = new KeyRing(ttl);
      const sessions = new SessionService(deps.redis, deps.log, deps.config.REFRESH_TOKEN_TTL_DAYS * 86_400_000, ttl);
      const services: Services = { users, keys, auth: new AuthService(users, sessions, keys) };
      return {
        context: (base) => ({ ...base, services, loaders: createLoaders(users, deps.redis), selfIds: new Set() }),
        routes: {
          '/.well-known/jwks.json': async (_req, res) => {
            try {
              sendJson(res, 200, await keys.jwks(), { 'cache-control': 'public, max-age=60' });
            } catch {
              sendJson(res, 503, { error: 'keys unavailable' });
            }
          },
        },
        onConnected: () => keys.ensureKey(),
      };
    },
  });
}

if (require.main === module) {
  start().catch((err: unknown) => {
    console.error(err instanceof ConfigError ? `users: ${err.message}` : err);
    process.exit(1);
  });
}
