import { applyProcessSettings, defaultOpsSettings, OpsSettingsClient } from '@tm/kit/contracts';
import { AuditLog, type Logger, type Metrics, type MongoHandle, type Redis, type RedisTarget } from '@tm/kit/infra';
import client from 'prom-client';
import type { GraphQLSchema } from 'graphql';
import { requestDisconnect } from '../realtime/disconnect';
import type { SubgraphInfo } from '../supergraph';
import { AuditConsumer } from './audit/audit.consumer';
import { AuditQueryService } from './audit/audit.service';
import type { OpsServices } from './ops.context';
import { OpsDataSource } from './ops.datasource';
import { HealthService } from './health/health.service';
import { SubgraphBreakers } from './limits/breakers';
import { operationCheck, opsGuardPlugin, type GuardOptions } from './limits/guard';
import { limitValidationRules, type LimitName, type OperationLimits } from './limits/operation-limits';
import { RateLimits } from './limits/rate-limit';
import { buildOpsSchema, opsRootFields } from './schema';
import { SettingsService } from './settings/settings.service';
import { OperationStats } from './stats/stats.service';

export { AuditEntryModel } from './audit/audit.model';
export type { OperationLimits } from './limits/operation-limits';

/** The in-process subgraph's name in schema/subgraphs.json and the supergraph. */
export const OPS_SUBGRAPH = 'ops';

export interface OpsPlaneOptions {
  redis: Redis;
  redisTarget: RedisTarget;
  prefix: string;
  log: Logger;
  metrics: Metrics;
  mongo: MongoHandle;
  logLevel: string;
  rateLimit: { requestsPerMinute: number; burst: number };
  limits: OperationLimits;
  /** Introspection and suggestions for everyone (development), else ADMIN only. */
  introspection: boolean;
  /** The HTTP subgraphs of the current supergraph. */
  subgraphs: () => SubgraphInfo[];
  gatewayReady: () => Promise<boolean>;
}

/**
 * The ops plane of one gateway process: settings (kept current from Redis), the ops subgraph's
 * schema and in-process data source, the request guard (limits, rate limits, maintenance), the
 * subgraph circuit breakers, operation timings and the audit log consumer.
 */
export async function createOpsPlane(opts: OpsPlaneOptions) {
  const { redis, log, metrics } = opts;
  const settingsClient = new OpsSettingsClient({
    redis,
    redisTarget: opts.redisTarget,
    prefix: opts.prefix,
    log,
    defaults: defaultOpsSettings(opts.rateLimit),
    registry: metrics.registry,
  });
  settingsClient.onChange(applyProcessSettings('gateway', opts.logLevel, log));
  const settings = () => settingsClient.current();

  const violations = new client.Counter({
    name: 'graphql_limit_violations_total',
    help: 'Operations refused by an operation limit (API-002), by limit',
    labelNames: ['limit'],
    registers: [metrics.registry],
  });
  const violated = (limit: LimitName) => violations.inc({ limit });

  const subgraphNames = () => opts.subgraphs().map((s) => s.name);
  const breakers = new SubgraphBreakers(settings, log, metrics.registry);
  const rateLimits = new RateLimits(redis, log);
  const stats = new OperationStats();
  const services: OpsServices = {
    settings: new SettingsService(settingsClient, rateLimits, breakers, subgraphNames),
    health: new HealthService(opts.subgraphs, breakers, () => settings().readOnly, opts.gatewayReady),
    audit: new AuditLog(OPS_SUBGRAPH, redis, log),
    auditEntries: new AuditQueryService(),
    rateLimits,
    stats,
    disconnect: (userId, reason) => requestDisconnect(redis, opts.prefix, userId, reason),
  };
  const schema: GraphQLSchema = await buildOpsSchema();
  const consumer = new AuditConsumer(redis, log, () => opts.mongo.isUp());

  const guard: GuardOptions = {
    settings,
    rateLimits,
    limits: opts.limits,
    opsFields: opsRootFields(schema),
    introspection: opts.introspection,
    stats,
    violated,
  };
  const validationRules = limitValidationRules(opts.limits, violated);

  // the security headers of every gateway response, rebuilt when the settings change
  let headers: Record<string, string> = {};
  settingsClient.onChange((s) => {
    headers = Object.fromEntries(s.securityHeaders.map((h) => [h.name, h.value]));
  });

  return {
    settings,
    breakers,
    dataSource: () => new OpsDataSource(schema, services, log),
    plugin: opsGuardPlugin(guard),
    validationRules,
    /** The request path's checks on an operation the gateway answers itself (a live subscription's start). */
    checkOperation: operationCheck({ ...guard, validationRules, maxTokens: opts.limits.maxTokens }),
    responseHeaders: () => headers,
    async start(): Promise<void> {
      await settingsClient.start();
      consumer.start();
    },
    async close(): Promise<void> {
      await consumer.stop();
      await settingsClient.close();
      breakers.close();
    },
  };
}
export type OpsPlane = Awaited<ReturnType<typeof createOpsPlane>>;
