import { createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  SAFE_KEY_RE,
  type DownloadUrlRequest,
  type Storage,
  type StoredObject,
  type UploadUrlRequest,
  type WriteOptions,
} from './storage';
import type { UrlSigner } from './signed-url';

/** Paths the owning service serves local-storage URLs on (local.routes.ts). */
export const UPLOAD_PATH = '/storage/upload';
export const DOWNLOAD_PATH = '/storage/download';

/** A download URL served by the owning service: made out to one user, checked on every use (local.routes.ts). */
export function serviceDownloadUrl(signer: UrlSigner, publicUrl: string, req: DownloadUrlRequest): string {
  const token = signer.sign({
    op: 'get',
    key: req.key,
    fileId: req.fileId,
    userId: req.userId,
    name: req.fileName,
    type: req.contentType,
    exp: Date.now() + req.expiresInSeconds * 1000,
  });
  return `${publicUrl}${DOWNLOAD_PATH}?t=${token}`;
}

/**
 * The embedded default: objects are files under one directory, and the owning service itself serves
 * the upload and download URLs (HMAC-signed, expiring; uploads single use), see local.routes.ts.
 */
export class LocalStorage implements Storage {
  readonly kind = 'local' as const;
  private seq = 0;

  constructor(
    private readonly root: string,
    /** The owning service's address as clients reach it, e.g. `http://127.0.0.1:4004`. */
    private readonly publicUrl: () => string,
    private readonly signer: UrlSigner,
  ) {}

  /** The file path of a key; only keys services make (no `..`, no absolute paths). */
  pathOf(key: string): string {
    if (!SAFE_KEY_RE.test(key)) throw new Error('invalid storage key');
    return path.join(this.root, ...key.split('/'));
  }

  async uploadUrl(req: UploadUrlRequest): Promise<string> {
    const token = this.signer.sign({
      op: 'put',
      key: req.key,
      fileId: req.fileId,
      userId: '',
      size: req.size,
      exp: Date.now() + req.expiresInSeconds * 1000,
    });
    return `${this.publicUrl()}${UPLOAD_PATH}?t=${token}`;
  }

  async downloadUrl(req: DownloadUrlRequest): Promise<string> {
    return serviceDownloadUrl(this.signer, this.publicUrl(), req);
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { key, size: s.size, lastModified: s.mtime } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async readHead(key: string, bytes: number): Promise<Buffer> {
    const fh = await open(this.pathOf(key), 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async read(key: string): Promise<NodeJS.ReadableStream> {
    const p = this.pathOf(key);
    await stat(p); // a missing object fails here, not mid-stream
    return createReadStream(p);
  }

  async write(key: string, body: Buffer): Promise<void> {
    await this.writeStream(key, Readable.from([body]));
  }

  async writeStream(key: string, body: NodeJS.ReadableStream, opts: WriteOptions = {}): Promise<boolean> {
    // an error before the pipeline below listens is kept by the stream (pipeline reports it), not thrown
    const early = () => undefined;
    body.on('error', early);
    try {
      return await this.writeTemp(this.pathOf(key), body, opts);
    } finally {
      body.off('error', early);
    }
  }

  private async writeTemp(p: string, body: NodeJS.ReadableStream, opts: WriteOptions): Promise<boolean> {
    await mkdir(path.dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.${Date.now()}.${++this.seq}.part`;
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    let size = 0;
    let over = false;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer | string>) {
          for await (const piece of source) {
            const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
            size += chunk.length;
            if (size > limit) {
              over = true;
              return;
            }
            yield chunk;
          }
        },
        createWriteStream(tmp),
      );
      if (over) {
        await rm(tmp, { force: true });
        return false;
      }
      await rename(tmp, p);
      return true;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async move(from: string, to: string): Promise<void> {
    const target = this.pathOf(to);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(this.pathOf(from), target);
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    // walk from the deepest directory the prefix names; keys are matched against the prefix itself
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    if (base && !SAFE_KEY_RE.test(base)) return;
    yield* this.walk(base, prefix);
  }

  private async *walk(dirKey: string, prefix: string): AsyncIterable<StoredObject> {
    let entries: Dirent[];
    try {
      entries = await readdir(dirKey ? path.join(this.root, ...dirKey.split('/')) : this.root, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const key = dirKey ? `${dirKey}/${e.name}` : e.name;
      if (!SAFE_KEY_RE.test(key)) continue;
      if (e.isDirectory()) {
        if (prefix.startsWith(`${key}/`) || key.startsWith(prefix)) yield* this.walk(key, prefix);
      } else if (e.isFile() && key.startsWith(prefix)) {
        const s = await this.stat(key).catch(() => null);
        if (s) yield s;
      }
    }
  }

  async ping(): Promise<boolean> {
    try {
      await mkdir(this.root, { recursive: true });
      return true;
    } catch {
      return false;
    }
  }
}
