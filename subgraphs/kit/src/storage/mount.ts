import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../infra/http';
import type { Logger } from '../infra/logger';
import type { Metrics } from '../infra/metrics';
import { runInScope } from '../infra/request-scope';
import { correlationIdFrom, CORRELATION_HEADER } from '../infra/signed-context';

export type StorageHandler = (req: IncomingMessage, res: ServerResponse, correlationId: string) => Promise<boolean>;

/**
 * Serves `/storage/*` (the local storage's upload and download URLs: PUT and GET) on the service's
 * own HTTP server, ahead of its GraphQL and fixed GET routes; everything else goes on to them.
 * Counted in the same `http_requests_total` / `http_request_duration_seconds`.
 */
export function mountStorage(server: http.Server, handler: StorageHandler, metrics: Metrics, log: Logger): void {
  const rest = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!path.startsWith('/storage/')) {
      for (const l of rest) l.call(server, req, res);
      return;
    }
    const started = process.hrtime.bigint();
    const correlationId = correlationIdFrom(req.headers[CORRELATION_HEADER], randomUUID);
    res.setHeader(CORRELATION_HEADER, correlationId);
    res.on('finish', () => {
      const labels = { method: req.method ?? 'GET', route: path, status: String(res.statusCode) };
      metrics.httpTotal.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    void runInScope({ correlationId }, async () => {
      try {
        if (!(await handler(req, res, correlationId))) sendJson(res, 404, { error: 'not found' });
      } catch (err) {
        log.error({ err }, 'storage request failed');
        if (!res.headersSent)
          sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'SYS-002', correlationId } }] });
        else res.end();
      }
    });
  });
}
