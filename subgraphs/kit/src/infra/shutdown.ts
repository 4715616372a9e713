import type http from 'node:http';
import type { Logger } from './logger';

export type ShutdownStep = () => Promise<unknown>;

/** Responses in progress per server (see trackInFlight), so a graceful close can end their connections after them. */
const inFlight = new WeakMap<http.Server, Set<http.ServerResponse>>();

/** Keeps count of the server's responses in progress, for closeServer (call once, before listening). */
export function trackInFlight(server: http.Server): void {
  const responses = new Set<http.ServerResponse>();
  inFlight.set(server, responses);
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    responses.add(res);
    res.once('close', () => responses.delete(res));
  });
}

/**
 * Stops accepting connections and waits for in-flight requests to finish. Node keeps serving a
 * keep-alive connection after `close()`, so a client sending steadily would hold the process up
 * until the shutdown timeout (and then lose what is in flight at the hard exit): every response
 * from now on, and those in progress that have not sent their headers, say `Connection: close`, so
 * each connection ends right after its current response, and idle ones are closed as they appear.
 */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.shouldKeepAlive = false;
    });
    for (const res of inFlight.get(server) ?? []) if (!res.headersSent) res.shouldKeepAlive = false;
    // a response whose headers were already out leaves its connection idle once it ends
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    server.close(() => {
      clearInterval(idle);
      resolve();
    });
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
