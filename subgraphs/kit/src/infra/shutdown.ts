import type http from 'node:http';
import net from 'node:net';
import type { Logger } from './logger';

export type ShutdownStep = () => Promise<unknown>;

/** A keep-alive connection idle this long while closing is closed; one used more recently gets `Connection: close` on its next response. */
const IDLE_GRACE_MS = 1000;

/** What a graceful close needs to know about a server (see trackInFlight). */
interface Tracked {
  /** Responses in progress. */
  responses: Set<http.ServerResponse>;
  /** HTTP connections (not upgraded ones): responses in progress on each, and since when it is idle. */
  connections: Map<net.Socket, { busy: number; idleSince: number }>;
}
const tracked = new WeakMap<http.Server, Tracked>();

/** Follows the server's connections and responses in progress, for closeServer (call once, before listening). */
export function trackInFlight(server: http.Server): void {
  const t: Tracked = { responses: new Set(), connections: new Map() };
  tracked.set(server, t);
  server.on('connection', (socket: net.Socket) => {
    t.connections.set(socket, { busy: 0, idleSince: Date.now() });
    socket.once('close', () => t.connections.delete(socket));
  });
  // a WebSocket connection is its handler's to close
  server.prependListener('upgrade', (req: http.IncomingMessage) => t.connections.delete(req.socket));
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const conn = t.connections.get(req.socket);
    if (conn) conn.busy++;
    t.responses.add(res);
    res.once('close', () => {
      t.responses.delete(res);
      if (conn) {
        conn.busy--;
        conn.idleSince = Date.now();
      }
    });
  });
}

/**
 * Stops accepting connections and waits for in-flight requests to finish. Node keeps serving a
 * keep-alive connection after `close()`, so a client sending steadily would hold the process up
 * until the shutdown timeout (and then lose what is in flight at the hard exit). So every response
 * from now on, and those in progress that have not sent their headers, say `Connection: close`
 * (the connection ends right after it). A connection idle for a second is closed; one used more
 * recently is left for its client's next request, since closing it could cut a request already on
 * its way (a server without trackInFlight closes idle connections at once).
 */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.shouldKeepAlive = false;
    });
    const t = tracked.get(server);
    for (const res of t?.responses ?? []) if (!res.headersSent) res.shouldKeepAlive = false;
    const closeIdle = () => {
      if (!t) return server.closeIdleConnections();
      const now = Date.now();
      for (const [socket, conn] of t.connections) if (conn.busy === 0 && now - conn.idleSince >= IDLE_GRACE_MS) socket.destroy();
    };
    const timer = setInterval(closeIdle, 100);
    const done = () => {
      clearInterval(timer);
      resolve();
    };
    // http.Server#close also closes every idle connection at once; with tracking, only stop listening
    // (net.Server#close) and let the grace above decide
    if (t) net.Server.prototype.close.call(server, done);
    else server.close(done);
    closeIdle();
  });
}

/** A step that takes longer than this is logged at warn (with its name), the rest at debug. */
const SLOW_STEP_MS = 1000;

/**
 * Runs the steps in order (their keys name them in the log) on SIGTERM/SIGINT: stop accepting,
 * finish in-flight work, close the stores; then exits 0. Each step's duration is logged (warn
 * when slow); a shutdown that passes the timeout logs the step it is stuck in and exits 1.
 */
export function installShutdown(log: Logger, steps: Record<string, ShutdownStep>, timeoutMs: number): () => Promise<void> {
  let running: Promise<void> | null = null;
  let current = '';
  const run = () => {
    running ??= (async () => {
      for (const [name, step] of Object.entries(steps)) {
        current = name;
        const started = Date.now();
        try {
          await step();
        } catch (err) {
          log.warn({ err, step: name }, 'shutdown step failed');
        }
        const ms = Date.now() - started;
        if (ms >= SLOW_STEP_MS) log.warn({ step: name, ms }, 'shutdown step was slow');
        else log.debug({ step: name, ms }, 'shutdown step done');
      }
      current = '';
    })();
    return running;
  };
  const onSignal = (signal: string) => {
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ step: current, timeoutMs }, 'shutdown timed out');
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
