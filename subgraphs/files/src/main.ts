import 'reflect-metadata';
import { createHmac } from 'node:crypto';
import { PermissionsClient, RequestAccess, TaskDirectory } from '@tm/kit/contracts';
import {
  AuditLog,
  type BaseConfig,
  ConfigError,
  EventPublisher,
  OutboxRelay,
  pingMongo,
  pingRedis,
  redisSettings,
  type RouteHandler,
  type RunningService,
  sendJson,
  startSubgraph,
} from '@tm/kit/infra';
import { localStorageHandler, mountStorage, S3Storage, storageFromConfig, UrlSigner } from '@tm/kit/storage';
import { filesConfigShape } from './config';
import type { FilesContext, Services } from './context';
import { FileModel, type File } from './file/file.model';
import { FileService } from './file/file.service';
import { ProjectUsageModel } from './file/project-usage.model';
import { createLoaders } from './loaders';
import { ScanQueue } from './scan/scan.queue';
import { selectScanner } from './scan/scanner.factory';
import { buildFilesSchema } from './schema';
import { DeletionsConsumer } from './sweep/deletions.consumer';
import { Sweeper } from './sweep/file.sweeper';

type Shape = typeof filesConfigShape;
export type FilesConfig = BaseConfig & { PORT: number } & { [K in keyof Shape]: import('zod').infer<Shape[K]> };

/** Starts the files subgraph (port 4004 unless FILES_PORT/PORT say otherwise). */
export async function start(env: NodeJS.ProcessEnv = process.env): Promise<RunningService<FilesConfig>> {
  let publicUrl = '';
  let storageHandler: ReturnType<typeof localStorageHandler> | undefined;
  const running = await startSubgraph<FilesConfig, FilesContext>({
    name: 'files',
    defaultPort: 4004,
    env,
    configShape: filesConfigShape,
    models: [FileModel, ProjectUsageModel],
    buildSchema: buildFilesSchema,
    setup: (deps) => {
      const { redis, log, config, metrics } = deps;
      const signer = new UrlSigner(
        config.FILES_URL_SECRET ?? createHmac('sha256', config.INTERNAL_SECRET).update('tm-files-url').digest('hex'),
      );
      const storage = storageFromConfig(config, {
        kind: config.FILES_STORAGE,
        variable: 'FILES_STORAGE',
        dir: config.FILES_DIR,
        publicUrl: () => publicUrl,
        signer,
      });
      const publisher = new EventPublisher('files', redis, log);
      const relay = new OutboxRelay<File>(FileModel as never, publisher, redis, log, deps.metrics);
      const permissions = new PermissionsClient(redis, config.PROJECTS_URL, config.INTERNAL_SECRET, log, deps.metrics);
      const files = new FileService(
        storage,
        relay,
        new TaskDirectory(config.TASKS_URL, config.INTERNAL_SECRET, log),
        {
          maxBytes: config.FILES_MAX_BYTES,
          allowedTypes: config.FILES_ALLOWED_TYPES,
          projectQuotaBytes: config.FILES_PROJECT_QUOTA_BYTES,
          uploadUrlTtlSeconds: config.FILES_UPLOAD_URL_TTL_SECONDS,
          downloadUrlTtlSeconds: config.FILES_DOWNLOAD_URL_TTL_SECONDS,
        },
        config.REDIS_PREFIX,
        log,
      );
      const { scanner, name: scannerName } = selectScanner(config);
      const scans = new ScanQueue({
        redisTarget: redisSettings(config),
        prefix: config.REDIS_PREFIX,
        scanner,
        scannerName,
        concurrency: config.FILES_SCAN_CONCURRENCY,
        attempts: config.FILES_SCAN_ATTEMPTS,
        backoffMs: config.FILES_SCAN_BACKOFF_MS,
        timeoutMs: config.FILES_SCAN_TIMEOUT_MS,
        scannerRetryMs: config.FILES_SCANNER_RETRY_MS,
        scanFile: (fileId, s) => files.scan(fileId, s),
        onExhausted: (fileId, reason) => files.scanFailed(fileId, reason),
        log,
        metrics,
      });
      files.enqueueScan = (fileId) => scans.enqueue(fileId);
      const sweeper = new Sweeper(files, storage, log, metrics, {
        intervalMs: config.FILES_SWEEP_MS,
        orphanIntervalMs: config.FILES_ORPHAN_SWEEP_MS,
        orphanGraceMs: config.FILES_ORPHAN_GRACE_SECONDS * 1000,
        staleScanMs: config.FILES_STALE_SCAN_SECONDS * 1000,
      });
      const deletions = new DeletionsConsumer(redis, files, log, metrics);
      {
        storageHandler = localStorageHandler(
          storage,
          signer,
          {
            upload: {
              claimOnce: async (nonce, ttlMs) =>
                (await redis.set(`files:upload-used:${nonce}`, '1', 'PX', Math.max(1000, ttlMs), 'NX')) === 'OK',
              beforeUpload: (claims) => files.checkUpload(claims.fileId),
            },
            beforeDownload: (claims) =>
              files.checkDownload(
                claims.fileId,
                claims.userId,
                claims.key,
                async (projectId) => !!(await permissions.access(claims.userId, projectId)),
              ),
          },
          log,
        );
      }
      const services: Services = {
        files,
        permissions,
        audit: new AuditLog('files', redis, log),
        scanStatus: async () => {
          const [scannerUp, depth] = await Promise.all([scans.pingScanner(), scans.depth()]);
          return { scanner: scannerName, scannerUp, ...depth };
        },
      };
      // readiness: the stores and the storage decide; the scanner and the queue are reported (a
      // scanner that is down delays scans, it does not stop uploads or downloads)
      const ready: RouteHandler = async (_req, res) => {
        const [mongo, redisUp, storageUp, scannerUp, queue] = await Promise.all([
          pingMongo(deps.mongo.connection).catch(() => false),
          pingRedis(redis),
          storage.ping().catch(() => false),
          scans.pingScanner(),
          scans.depth().catch(() => null),
        ]);
        const ok = mongo && redisUp && storageUp;
        const up = (b: boolean) => (b ? 'up' : 'down');
        sendJson(res, ok ? 200 : 503, {
          status: ok ? 'ready' : 'unavailable',
          service: 'files',
          dependencies: { mongo: up(mongo), redis: up(redisUp), storage: up(storageUp), scanner: up(scannerUp) },
          scanner: { name: scannerName, status: up(scannerUp) },
          scanQueue: queue,
          // the gateway's serviceHealth lists these
          queues: queue ? { scan: queue } : {},
        });
      };
      return {
        context: (base) => ({
          ...base,
          services,
          loaders: createLoaders(files),
          access: new RequestAccess(permissions, base.user.userId),
        }),
        routes: { '/ready': ready },
        onConnected: async () => {
          relay.start(config.OUTBOX_SWEEP_MS, config.OUTBOX_IDLE_SWEEP_MS);
          scans.start();
          sweeper.start();
          deletions.start();
        },
        onStop: async () => {
          await Promise.all([relay.stop(), sweeper.stop(), deletions.stop()]);
          await scans.close();
          if (storage instanceof S3Storage) storage.destroy();
        },
      };
    },
  });
  const host = running.deps.config.HOST === '0.0.0.0' ? '127.0.0.1' : running.deps.config.HOST;
  publicUrl = (running.deps.config.FILES_PUBLIC_URL ?? `http://${host}:${running.port}`).replace(/\/$/, '');
  if (storageHandler) mountStorage(running.server, storageHandler, running.deps.metrics, running.deps.log);
  return running;
}

if (require.main === module) {
  start().catch((err: unknown) => {
    console.error(err instanceof ConfigError ? `files: ${err.message}` : err);
    process.exit(1);
  });
}
