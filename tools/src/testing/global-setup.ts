import { startDevstack, type Devstack } from '../devstack';

/**
 * One Redis and one MongoDB-compatible store for the whole run (unless REDIS_URL / MONGO_URL
 * point elsewhere). Test files isolate themselves by database name and key prefix.
 */
export default async function globalSetup(): Promise<void> {
  const stack = await startDevstack(process.env);
  process.env.MONGO_URL = stack.mongoUrl;
  process.env.REDIS_URL = stack.redisUrl;
  process.env.TM_TEST_STORE = stack.mongoKind;
  (globalThis as { __tmDevstack?: Devstack }).__tmDevstack = stack;
  process.stdout.write(`\n[devstack] store: ${stack.mongoKind} ${stack.mongoUrl}, redis: ${stack.redisKind} ${stack.redisUrl}\n`);
}
