import type http from 'node:http';
import type { Logger } from './logger';

export type ShutdownStep = () => Promise<unknown>;

/** Stops accepting connections and waits for in-flight requests to finish. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/**
 * Runs the steps in order on SIGTERM/SIGINT (stop accepting, finish in-flight work, close the
 * stores), then exits 0; a step that hangs past the timeout exits 1.
 */
export function installShutdown(log: Logger, steps: ShutdownStep[], timeoutMs: number): () => Promise<void> {
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= (async () => {
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          log.warn({ err }, 'shutdown step failed');
        }
      }
    })();
    return running;
  };
  const onSignal = (signal: string) => {
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    void run().then(() => {
      log.info('stopped');
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  return run;
}
