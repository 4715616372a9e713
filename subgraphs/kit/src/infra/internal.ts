import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, ErrorCode } from '../contracts/errors';
import { sendJson } from './http';
import type { Logger } from './logger';
import { currentScope } from './request-scope';
import { CORRELATION_HEADER, INTERNAL_HEADER, SIGNED_CONTEXT_MAX_AGE_MS, signInternal, verifyInternal } from './signed-context';

/**
 * A service-to-service GET, signed with the internal secret (the other side answers only signed
 * requests), carrying the current request's correlation id and trace context. Unreachable, slow
 * (3 s) or failing: `SYS-002` naming the service, nothing more to the client.
 */
export async function internalGet<T>(
  baseUrl: string,
  pathWithQuery: string,
  secret: string,
  service: string,
  log: Logger,
): Promise<T> {
  const unavailable = () =>
    new AppError(ErrorCode.ServiceUnavailable, `The ${service} service is unavailable, try again shortly`, { service });
  // signed for this service, path and query only (SIGNED_CONTEXT_MAX_AGE_MS on the other side)
  const headers = new Headers({ [INTERNAL_HEADER]: signInternal(service, pathWithQuery, secret) });
  const correlationId = currentScope()?.correlationId;
  if (correlationId) headers.set(CORRELATION_HEADER, correlationId);
  let res: Response;
  try {
    res = await fetch(new URL(pathWithQuery, baseUrl), { headers, signal: AbortSignal.timeout(3000) });
  } catch (err) {
    log.warn({ err, service, path: pathWithQuery.split('?')[0] }, 'internal endpoint unreachable');
    throw unavailable();
  }
  if (!res.ok) {
    log.warn({ service, path: pathWithQuery.split('?')[0], status: res.status }, 'internal endpoint failed');
    throw unavailable();
  }
  return (await res.json()) as T;
}

/**
 * Serves one internal endpoint of `service`: refuses requests not signed for this service, path and
 * query within `maxAgeMs` (401), hands the query to `answer`, and answers 503 when it throws (the
 * caller turns that into SYS-002). `answer` returning `null` is a 400.
 */
export function internalRoute(
  service: string,
  secret: string,
  answer: (query: URLSearchParams) => Promise<unknown>,
  maxAgeMs = SIGNED_CONTEXT_MAX_AGE_MS,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const header = req.headers[INTERNAL_HEADER];
    if (!verifyInternal(Array.isArray(header) ? header[0] : header, service, req.url ?? '', secret, maxAgeMs)) {
      sendJson(res, 401, { error: 'unauthorized' });
      return;
    }
    let body: unknown;
    try {
      body = await answer(new URL(req.url ?? '/', 'http://internal').searchParams);
    } catch {
      sendJson(res, 503, { error: 'unavailable' });
      return;
    }
    if (body === null) sendJson(res, 400, { error: 'bad request' });
    else sendJson(res, 200, body);
  };
}
