import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, type Logger, type RouteHandler } from '@tm/kit';
import { ReportFormat, ReportStatus } from './report-enums';
import { ReportJobModel, type ReportJob } from './report-job.model';
import type { DownloadSigner, ReportStorage } from './report-storage';

/**
 * `GET /reports/download?token=…`: a finished report, for whoever holds a URL `reportJob` signed
 * (short-lived, and never beyond the report's expiry). Tampered: 403; expired URL or report: 410.
 */
export function downloadRoute(storage: ReportStorage, signer: DownloadSigner, log: Logger): RouteHandler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    const v = signer.verify(token);
    if (!v.ok)
      return sendJson(res, v.reason === 'expired' ? 410 : 403, {
        error: v.reason === 'expired' ? 'link expired' : 'invalid link',
      });
    const job = await ReportJobModel.findById(v.claims.jobId).lean<ReportJob>();
    if (
      !job ||
      job.status !== ReportStatus.COMPLETED ||
      !job.storageKey ||
      !job.expiresAt ||
      job.expiresAt.getTime() <= Date.now()
    ) {
      return sendJson(res, 410, { error: 'report no longer available' });
    }
    const size = await storage.size(job.storageKey);
    if (size === null) return sendJson(res, 410, { error: 'report no longer available' });
    const csv = job.format === ReportFormat.CSV;
    res.writeHead(200, {
      'content-type': csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
      'content-length': String(size),
      'content-disposition': `attachment; filename="report-${job._id}.${csv ? 'csv' : 'json'}"`,
      'cache-control': 'private, no-store',
    });
    if (req.method === 'HEAD') return res.end();
    const stream = storage.read(job.storageKey);
    stream.on('error', (err) => {
      log.warn({ err, jobId: job._id }, 'report download failed');
      res.destroy();
    });
    stream.pipe(res);
  };
}
