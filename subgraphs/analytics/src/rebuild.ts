import 'reflect-metadata';
import { baseConfigSchema, connectMongo, createLogger, createRedis, loadConfig, redisReady, redisSettings } from '@tm/kit/infra';
import { z } from 'zod';
import { analyticsConfigShape } from './config';
import { ReadModelPointerModel } from './readmodel/readmodel.generation';
import { rebuildReadModel } from './readmodel/readmodel.rebuild';

/**
 * `npm run analytics:rebuild [-- --allow-incomplete] [-- --force]`: replays the task and project
 * streams into a fresh read model and switches the analytics service to it (README: Analytics).
 * Uses the analytics service's MONGO_URL, MONGO_DB (default tm_analytics), REDIS_URL, REDIS_PREFIX.
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const schema = baseConfigSchema.omit({ INTERNAL_SECRET: true }).extend({
    MONGO_DB: z
      .string()
      .regex(/^[\w-]{1,60}$/)
      .default('tm_analytics'),
    ANALYTICS_POLL_MS: analyticsConfigShape.ANALYTICS_POLL_MS,
  });
  const config = loadConfig(schema, env);
  const log = createLogger('analytics-rebuild', config.LOG_LEVEL);
  const mongo = connectMongo({
    url: config.MONGO_URL,
    dbName: config.MONGO_DB,
    log,
    models: [ReadModelPointerModel],
    timeoutMS: Math.max(config.MONGO_TIMEOUT_MS, 30_000),
  });
  const redis = createRedis(redisSettings(config), config.REDIS_PREFIX, log, 'rebuild', {
    commandTimeoutMs: Math.max(config.REDIS_COMMAND_TIMEOUT_MS, 30_000),
  });
  try {
    await mongo.ready;
    await redisReady(redis, 10_000);
    const r = await rebuildReadModel({
      redis,
      log,
      settleMs: Math.max(1000, config.ANALYTICS_POLL_MS * 4),
      allowIncomplete: argv.includes('--allow-incomplete'),
      force: argv.includes('--force'),
    });
    process.stdout.write(
      `read model rebuilt: generation ${r.from} -> ${r.to}, ${r.events} events, ${r.facts} tasks, ${r.buckets} daily buckets\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`analytics rebuild failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await mongo.close();
    await redis.quit().catch(() => redis.disconnect());
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
