import 'reflect-metadata';
import {
  baseConfigSchema,
  ConfigError,
  connectMongo,
  createLogger,
  createRedis,
  loadConfig,
  redisConfigShape,
  redisSettings,
} from '@tm/kit/infra';
import { z } from 'zod';
import { Role, UserStatus } from './user/user.model';
import { UserModel } from './user/user.model';
import { CounterModel } from './user/active-admins.service';
import { UserService } from './user/user.service';
import { passwordProblem } from './password/password.rules';

/**
 * Creates an administrator (or, with `--promote`, makes an existing account one and unlocks it),
 * for the first start or to recover when no admin can sign in:
 *
 *   ADMIN_EMAIL=ann@example.com ADMIN_PASSWORD='…' node subgraphs/users/dist/create-admin.js [--promote]
 *
 * The password comes from the environment only (never argv, which `ps` shows); it is never
 * printed or logged. Uses the users service's own code and database (MONGO_URL, MONGO_DB).
 */
const schema = baseConfigSchema.pick({ MONGO_URL: true, LOG_LEVEL: true }).extend({
  ...redisConfigShape(),
  MONGO_DB: z.string().default('tm_users'),
  ADMIN_EMAIL: z.string().email('must be an email address'),
  ADMIN_PASSWORD: z.string().optional(),
  ADMIN_NAME: z.string().min(1).max(100).default('Administrator'),
});

export async function createAdmin(
  env: NodeJS.ProcessEnv,
  promote: boolean,
): Promise<{ outcome: 'created' | 'promoted'; userId: string }> {
  const cfg = loadConfig(schema, env);
  if (!promote) {
    const problem = cfg.ADMIN_PASSWORD === undefined ? 'required to create an account' : passwordProblem(cfg.ADMIN_PASSWORD);
    if (problem) throw new ConfigError(`invalid configuration:\n  ADMIN_PASSWORD: ${problem}`);
  }
  const log = createLogger('users-create-admin', cfg.LOG_LEVEL === 'info' ? 'warn' : cfg.LOG_LEVEL);
  const mongo = connectMongo({ url: cfg.MONGO_URL, dbName: cfg.MONGO_DB, log, models: [UserModel, CounterModel] });
  const redis = createRedis(redisSettings(cfg), cfg.REDIS_PREFIX, log);
  try {
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('store not reachable within 15 s')), 15_000).unref(),
    );
    await Promise.race([mongo.ready, timeout]);
    const users = new UserService(redis);
    const existing = await users.findByEmail(cfg.ADMIN_EMAIL);
    if (existing) {
      if (!promote) throw new Error('that email is already registered; add --promote to make it an administrator');
      const roles = [...new Set([...existing.roles, Role.ADMIN])];
      const next = { roles, status: UserStatus.ACTIVE };
      await users.admins.change(
        existing._id,
        next,
        (filter) => users.bumpTokenVersion(existing._id, next, { lockedReason: '', lockedAt: '' }, filter),
        () => new Error('cannot happen: a promotion ends no active admin'),
      );
      return { outcome: 'promoted', userId: existing._id };
    }
    if (promote) throw new Error('no account with that email to promote');
    const user = await users.register({ email: cfg.ADMIN_EMAIL, name: cfg.ADMIN_NAME, password: cfg.ADMIN_PASSWORD! }, [
      Role.ADMIN,
      Role.USER,
    ]);
    return { outcome: 'created', userId: user._id };
  } finally {
    await mongo.close().catch(() => undefined);
    await redis.quit().catch(() => redis.disconnect());
  }
}

if (require.main === module) {
  createAdmin(process.env, process.argv.includes('--promote'))
    .then(({ outcome, userId }) => {
      process.stdout.write(`administrator ${outcome}: ${userId}\n`);
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`create-admin: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
