import { randomBytes } from 'node:crypto';

/**
 * Environment for one test file's services: the run's stores, a database name and a Redis key
 * prefix of its own, a fresh internal secret and encryption key.
 */
export function testEnv(label: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const id = `${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  const mongo = process.env.MONGO_URL;
  const redis = process.env.REDIS_URL;
  if (!mongo || !redis) throw new Error('MONGO_URL / REDIS_URL missing: run tests through jest (global setup)');
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HOST: '127.0.0.1',
    MONGO_URL: mongo,
    MONGO_DB: `t_${id}`,
    REDIS_URL: redis,
    REDIS_PREFIX: `t:${id}:`,
    INTERNAL_SECRET: randomBytes(32).toString('hex'),
    // secrets at rest (users: MFA secrets, signing keys): one fresh AES-256 key per test file
    ENCRYPTION_KEYS: `t1:${randomBytes(32).toString('base64')}`,
    // every test user registers from 127.0.0.1: the per-address registration limit is tested on its own
    REGISTER_MAX_PER_IP: '100000',
    ...extra,
  };
}
