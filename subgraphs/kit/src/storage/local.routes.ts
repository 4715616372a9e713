import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { AppError, ErrorCode } from '../contracts/errors';
import { sendJson } from '../infra/http';
import type { Logger } from '../infra/logger';
import { DOWNLOAD_PATH, LocalStorage, UPLOAD_PATH } from './local.storage';
import type { S3Storage } from './s3.storage';
import type { UrlClaims, UrlSigner } from './signed-url';
import { contentDisposition } from './storage';

/**
 * What the owning service decides about a URL being used (the object's state, the user's access).
 * Without `upload`, the service takes no uploads through URLs (PUT answers 404).
 */
export interface LocalUrlHooks {
  upload?: {
    /** Marks a one-time upload id used; false when it was used before. */
    claimOnce(nonce: string, ttlMs: number): Promise<boolean>;
    /** Throws an AppError when the upload may not happen (e.g. the file is no longer pending). */
    beforeUpload(claims: UrlClaims): Promise<void>;
  };
  /**
   * Throws an AppError when the download may not happen (not CLEAN, no access any more, expired);
   * an error's `details.httpStatus` chooses the answer's status (403 otherwise).
   */
  beforeDownload(claims: UrlClaims): Promise<void>;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.UploadRefused]: 400,
  [ErrorCode.DownloadFailed]: 403,
  [ErrorCode.VirusDetected]: 403,
  [ErrorCode.DatabaseUnavailable]: 503,
  [ErrorCode.ServiceUnavailable]: 503,
};

function fail(res: ServerResponse, err: AppError, correlationId: string, status?: number): void {
  const chosen = typeof err.details.httpStatus === 'number' ? err.details.httpStatus : undefined;
  sendJson(res, status ?? chosen ?? STATUS[err.code] ?? 400, {
    errors: [{ message: err.message, extensions: { code: err.code, correlationId } }],
  });
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range); null when absent, 'bad' when unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (!m[1] && !m[2])) return 'bad';
  let start: number;
  let end: number;
  if (!m[1]) {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  }
  if (start > end || start >= size) return 'bad';
  return { start, end };
}

/**
 * The HTTP side of a service's storage URLs: `PUT /storage/upload?t=…` (local storage; single use,
 * no bigger than declared) and `GET /storage/download?t=…` (local: the bytes with Range and
 * Content-Disposition; S3: checked here, then a redirect to a short presigned GET). A URL that is expired, tampered
 * with (another user's, another file's) or refused by the service is `FILE-002` for downloads and
 * `FILE-001` for uploads, with no details beyond the reason.
 */
export function localStorageHandler(storage: LocalStorage | S3Storage, signer: UrlSigner, hooks: LocalUrlHooks, log: Logger) {
  return async (req: IncomingMessage, res: ServerResponse, correlationId: string): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname !== UPLOAD_PATH && url.pathname !== DOWNLOAD_PATH) return false;
    // browsers upload and download from the app's origin: the signed URL is the credential (no
    // cookies are read), so any origin may use it
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'content-range, content-disposition, content-length, x-correlation-id');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': url.pathname === UPLOAD_PATH ? 'PUT' : 'GET, HEAD',
        'access-control-allow-headers': 'content-type, range, x-correlation-id',
        'access-control-max-age': '600',
      });
      res.end();
      return true;
    }
    if (url.pathname === UPLOAD_PATH) {
      // S3 uploads go straight to the bucket (presigned PUT)
      if (!(storage instanceof LocalStorage) || !hooks.upload) return false;
      if (req.method !== 'PUT') {
        sendJson(res, 405, { error: 'use PUT' }, { allow: 'PUT' });
        return true;
      }
      await upload(req, res, url, correlationId);
      return true;
    }
    if (url.pathname === DOWNLOAD_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
        return true;
      }
      await download(req, res, url, correlationId);
      return true;
    }
    return false;
  };

  async function upload(req: IncomingMessage, res: ServerResponse, url: URL, cid: string): Promise<void> {
    const uploads = hooks.upload;
    if (!(storage instanceof LocalStorage) || !uploads) return;
    const refused = (why: string) => new AppError(ErrorCode.UploadRefused, `Upload refused: ${why}`);
    const v = signer.verify(url.searchParams.get('t'), 'put');
    if (!v.ok) {
      req.resume();
      return fail(res, refused(v.reason === 'expired' ? 'the upload URL has expired' : 'invalid upload URL'), cid, 403);
    }
    const { claims } = v;
    const declared = claims.size ?? 0;
    const length = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(length) && length > declared) {
      req.resume();
      return fail(res, refused(`larger than the declared ${declared} bytes`), cid, 413);
    }
    try {
      await uploads.beforeUpload(claims);
      if (!(await uploads.claimOnce(claims.nonce, claims.exp - Date.now() + 60_000))) {
        req.resume();
        return fail(res, refused('the upload URL was already used'), cid, 403);
      }
      if (!(await storage.writeStream(claims.key, req, { limit: declared }))) {
        return fail(res, refused(`larger than the declared ${declared} bytes`), cid, 413);
      }
    } catch (err) {
      req.resume();
      if (err instanceof AppError) return fail(res, err, cid);
      log.error({ err }, 'upload to local storage failed');
      return fail(res, refused('storage unavailable'), cid, 503);
    }
    res.writeHead(200, { 'content-length': '0' }).end();
  }

  async function download(req: IncomingMessage, res: ServerResponse, url: URL, cid: string): Promise<void> {
    const v = signer.verify(url.searchParams.get('t'), 'get');
    if (!v.ok) {
      const why = v.reason === 'expired' ? 'the download URL has expired' : 'invalid download URL';
      return fail(
        res,
        new AppError(ErrorCode.DownloadFailed, `Download failed: ${why}`),
        cid,
        v.reason === 'expired' ? 410 : 403,
      );
    }
    const { claims } = v;
    try {
      await hooks.beforeDownload(claims);
    } catch (err) {
      if (err instanceof AppError) return fail(res, err, cid);
      log.error({ err }, 'download check failed');
      return fail(res, new AppError(ErrorCode.ServiceUnavailable, 'Service unavailable, try again shortly'), cid, 503);
    }
    const object = await storage.stat(claims.key);
    if (!object) return fail(res, new AppError(ErrorCode.DownloadFailed, 'Download failed: the file is gone'), cid, 404);
    if (!(storage instanceof LocalStorage)) {
      // checked here; the bytes come straight from the bucket (Range and Content-Disposition there)
      const location = await storage.redirectUrl({
        key: claims.key,
        fileId: claims.fileId,
        fileName: claims.name ?? 'file',
        contentType: claims.type ?? 'application/octet-stream',
      });
      res.writeHead(302, { location, 'cache-control': 'private, no-store' }).end();
      return;
    }
    const range = parseRange(req.headers.range, object.size);
    const headers: Record<string, string> = {
      'content-type': claims.type ?? 'application/octet-stream',
      'content-disposition': contentDisposition(claims.name ?? 'file'),
      'accept-ranges': 'bytes',
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
    };
    if (range === 'bad') {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${object.size}` }).end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: object.size - 1 };
    const length = object.size === 0 ? 0 : end - start + 1;
    res.writeHead(range ? 206 : 200, {
      ...headers,
      'content-length': String(length),
      ...(range ? { 'content-range': `bytes ${start}-${end}/${object.size}` } : {}),
    });
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    await pipeline(createReadStream(storage.pathOf(claims.key), { start, end }), res).catch((err: unknown) => {
      log.warn({ err }, 'download interrupted');
    });
  }
}
