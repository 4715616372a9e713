import 'reflect-metadata';
import { createHmac } from 'node:crypto';
import { PermissionsClient, RequestAccess } from '@tm/kit/contracts';
import {
  AuditLog,
  type BaseConfig,
  ConfigError,
  pingMongo,
  pingRedis,
  redisSettings,
  type RouteHandler,
  type RunningService,
  sendJson,
  startSubgraph,
} from '@tm/kit/infra';
import { localStorageHandler, mountStorage, S3Storage, storageFromConfig, UrlSigner } from '@tm/kit/storage';
import { analyticsConfigShape } from './config';
import type { AnalyticsContext, Services } from './context';
import { DashboardModel } from './dashboard/dashboard.model';
import { DashboardService } from './dashboard/dashboard.service';
import { MetricsService } from './metrics/metrics.service';
import { ReadModelConsumer } from './readmodel/readmodel.consumer';
import { CurrentGeneration, generation, ReadModelPointerModel, readPointer } from './readmodel/readmodel.generation';
import { ReportJobModel } from './report/report-job.model';
import { ReportQueue } from './report/report.queue';
import { ReportService } from './report/report.service';
import { buildAnalyticsSchema } from './schema';
import { WorkloadService } from './workload/workload.service';

type Shape = typeof analyticsConfigShape;
export type AnalyticsConfig = BaseConfig & { PORT: number } & { [K in keyof Shape]: import('zod').infer<Shape[K]> };

/** Starts the analytics subgraph (port 4006 unless ANALYTICS_PORT/PORT say otherwise). */
export async function start(
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningService<AnalyticsConfig> & { consumer: ReadModelConsumer }> {
  let publicUrl = '';
  let consumer: ReadModelConsumer | undefined;
  let storageHandler: ReturnType<typeof localStorageHandler> | undefined;
  const running = await startSubgraph<AnalyticsConfig, AnalyticsContext>({
    name: 'analytics',
    defaultPort: 4006,
    env,
    configShape: analyticsConfigShape,
    models: [ReadModelPointerModel, ReportJobModel, DashboardModel],
    buildSchema: buildAnalyticsSchema,
    setup: (deps) => {
      const { redis, log, config, metrics } = deps;
      const current = new CurrentGeneration();
      const permissions = new PermissionsClient(redis, config.PROJECTS_URL, config.INTERNAL_SECRET, log, deps.metrics);
      const signer = new UrlSigner(
        config.REPORTS_URL_SECRET ?? createHmac('sha256', config.INTERNAL_SECRET).update('tm-report-url').digest('hex'),
        'reports',
      );
      const storage = storageFromConfig(config, {
        kind: config.REPORTS_STORAGE,
        variable: 'REPORTS_STORAGE',
        dir: config.REPORTS_DIR,
        publicUrl: () => publicUrl,
        signer,
      });
      const reports = new ReportService(
        current,
        storage,
        {
          ttlSeconds: config.REPORTS_TTL_SECONDS,
          urlTtlSeconds: config.REPORTS_URL_TTL_SECONDS,
          rowsPerSecond: config.REPORTS_ROWS_PER_SECOND,
          maxActivePerUser: config.REPORTS_MAX_ACTIVE_PER_USER,
          keepJobsSeconds: config.REPORTS_KEEP_JOBS_SECONDS,
        },
        log,
      );
      const queue = new ReportQueue({
        redisTarget: redisSettings(config),
        prefix: config.REDIS_PREFIX,
        concurrency: config.REPORTS_CONCURRENCY,
        reports,
        log,
        metrics,
      });
      reports.enqueue = (id) => queue.enqueue(id);
      reports.dequeue = (id) => queue.remove(id);
      consumer = new ReadModelConsumer(redis, log, metrics, {
        pollMs: config.ANALYTICS_POLL_MS,
        claimIdleMs: config.ANALYTICS_CLAIM_IDLE_MS,
      });
      // report downloads: the storage's URLs, checked here on every use (the report still exists)
      storageHandler = localStorageHandler(storage, signer, { beforeDownload: (claims) => reports.checkDownload(claims) }, log);
      const services: Services = {
        metrics: new MetricsService(current),
        workload: new WorkloadService(current, permissions),
        reports,
        dashboards: new DashboardService({ maxBytes: config.DASHBOARD_MAX_BYTES, perUser: config.DASHBOARDS_PER_USER }),
        permissions,
        audit: new AuditLog('analytics', redis, log),
      };
      let sweepTimer: NodeJS.Timeout | undefined;
      const sweep = () => {
        sweepTimer = setTimeout(() => {
          void reports
            .sweep()
            .catch((err: unknown) => log.debug({ err: (err as Error).message }, 'report sweep failed'))
            .finally(() => sweepTimer && sweep());
        }, config.REPORTS_SWEEP_MS);
        sweepTimer.unref();
      };
      // readiness: the stores decide; the read model's lag is reported (a consumer behind answers older numbers, not errors)
      const ready: RouteHandler = async (_req, res) => {
        const [mongo, redisUp, storageUp, lag, pointer, reportQueue] = await Promise.all([
          pingMongo(deps.mongo.connection).catch(() => false),
          pingRedis(redis),
          storage.ping().catch(() => false),
          consumer!.lag().catch(() => null),
          readPointer().catch(() => null),
          queue.depth().catch(() => null),
        ]);
        const ok = mongo && redisUp && storageUp;
        const up = (b: boolean) => (b ? 'up' : 'down');
        sendJson(res, ok ? 200 : 503, {
          status: ok ? 'ready' : 'unavailable',
          service: 'analytics',
          dependencies: { mongo: up(mongo), redis: up(redisUp), storage: up(storageUp) },
          readModel: pointer ? { generation: pointer.current, building: pointer.building ?? null, streams: lag } : null,
          // the gateway's serviceHealth lists these
          queues: reportQueue ? { reports: reportQueue } : {},
        });
      };
      return {
        context: (base) => ({ ...base, services, access: new RequestAccess(permissions, base.user.userId) }),
        routes: { '/ready': ready },
        onConnected: async () => {
          await generation((await readPointer()).current);
          consumer!.start();
          queue.start();
          sweep();
        },
        onStop: async () => {
          clearTimeout(sweepTimer);
          sweepTimer = undefined;
          await consumer!.stop();
          await queue.close();
          if (storage instanceof S3Storage) storage.destroy();
        },
      };
    },
  });
  const host = running.deps.config.HOST === '0.0.0.0' ? '127.0.0.1' : running.deps.config.HOST;
  publicUrl = (running.deps.config.REPORTS_PUBLIC_URL ?? `http://${host}:${running.port}`).replace(/\/$/, '');
  if (storageHandler) mountStorage(running.server, storageHandler, running.deps.metrics, running.deps.log);
  return { ...running, consumer: consumer! };
}

if (require.main === module) {
  start().catch((err: unknown) => {
    console.error(err instanceof ConfigError ? `analytics: ${err.message}` : err);
    process.exit(1);
  });
}
