import { createHmac, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/** Keys are made by the service only: `<jobId>.<csv|json>` (finished) or `<jobId>.<ext>.part` (being written). */
const KEY_RE = /^[0-9a-f-]{36}\.(csv|json)(\.part)?$/;

/**
 * Where finished reports live: a local directory, written through a `.part` file that becomes the
 * report only by one rename when the job completes (a cancelled or failed job's part is removed,
 * so no partial report is ever served). The files subgraph's storage adapters are not used: a
 * domain subgraph never imports another's code (README: Analytics).
 */
export class ReportStorage {
  constructor(private readonly dir: string) {}

  private file(key: string): string {
    if (!KEY_RE.test(key)) throw new Error('invalid report key');
    return path.join(this.dir, key);
  }

  async open(key: string): Promise<WriteStream> {
    await mkdir(this.dir, { recursive: true });
    return createWriteStream(this.file(`${key}.part`), { flags: 'w' });
  }

  /** The part becomes the report (atomic rename). */
  async commit(key: string): Promise<void> {
    await rename(this.file(`${key}.part`), this.file(key));
  }

  async discard(key: string): Promise<void> {
    await rm(this.file(`${key}.part`), { force: true });
  }

  async delete(key: string): Promise<void> {
    await rm(this.file(key), { force: true });
  }

  async size(key: string): Promise<number | null> {
    return stat(this.file(key))
      .then((s) => s.size)
      .catch(() => null);
  }

  read(key: string, range?: { start: number; end: number }): NodeJS.ReadableStream {
    return createReadStream(this.file(key), range);
  }

  /** Every key with its age (the sweep removes orphans: parts of dead jobs, reports without a job). */
  async list(): Promise<Array<{ key: string; modifiedAt: Date }>> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: Array<{ key: string; modifiedAt: Date }> = [];
    for (const name of names) {
      if (!KEY_RE.test(name)) continue;
      const s = await stat(path.join(this.dir, name)).catch(() => null);
      if (s) out.push({ key: name, modifiedAt: s.mtime });
    }
    return out;
  }

  async ping(): Promise<boolean> {
    await mkdir(this.dir, { recursive: true });
    return true;
  }
}

/** What a download URL grants: one report, to one user, until `exp` (ms since the epoch). */
export interface DownloadClaims {
  jobId: string;
  userId: string;
  exp: number;
}

/** HMAC-SHA256 signed download tokens: `base64url(claims).base64url(mac)`. */
export class DownloadSigner {
  constructor(private readonly key: string) {}

  sign(claims: DownloadClaims): string {
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  verify(
    token: string | null | undefined,
    now = Date.now(),
  ): { ok: true; claims: DownloadClaims } | { ok: false; reason: 'tampered' | 'expired' } {
    const [body, mac, extra] = (token ?? '').split('.');
    if (!body || !mac || extra !== undefined) return { ok: false, reason: 'tampered' };
    const want = Buffer.from(this.mac(body));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, reason: 'tampered' };
    let claims: DownloadClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as DownloadClaims;
    } catch {
      return { ok: false, reason: 'tampered' };
    }
    if (typeof claims.jobId !== 'string' || !(claims.exp > now)) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(`tm-report-url:${body}`).digest('base64url');
  }
}
