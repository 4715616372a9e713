import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { KEY_RE, type DownloadUrlRequest, type Storage, type StoredObject, type UploadUrlRequest } from './storage';
import type { UrlSigner } from './signed-url';

/** Paths the files service serves local-storage URLs on. */
export const UPLOAD_PATH = '/storage/upload';
export const DOWNLOAD_PATH = '/storage/download';

/** A download URL served by the files service: made out to one user, checked on every use (local.routes.ts). */
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
 * The embedded default: objects are files under one directory, and the files service itself serves
 * the upload and download URLs (HMAC-signed, expiring; uploads single use), see local.routes.ts.
 */
export class LocalStorage implements Storage {
  readonly kind = 'local' as const;

  constructor(
    private readonly root: string,
    /** The files service's address as clients reach it, e.g. `http://127.0.0.1:4004`. */
    private readonly publicUrl: () => string,
    private readonly signer: UrlSigner,
  ) {}

  /** The file path of a key; only keys the service makes (no `..`, no absolute paths). */
  pathOf(key: string): string {
    if (!KEY_RE.test(key)) throw new Error('invalid storage key');
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
    const p = this.pathOf(key);
    await mkdir(path.dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.${Date.now()}.part`;
    await pipeline(async function* () {
      yield body;
    }, createWriteStream(tmp));
    await rename(tmp, p);
  }

  /** Writes a stream of at most `limit` bytes atomically (temp file, then rename); false when over the limit. */
  async writeStream(key: string, body: NodeJS.ReadableStream, limit: number): Promise<boolean> {
    const p = this.pathOf(key);
    await mkdir(path.dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.${Date.now()}.part`;
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
    const top = prefix.split('/')[0]!;
    const dir = path.join(this.root, top);
    let projects: string[];
    try {
      projects = await readdir(dir);
    } catch {
      return;
    }
    for (const project of projects) {
      let names: string[];
      try {
        names = await readdir(path.join(dir, project));
      } catch {
        continue;
      }
      for (const name of names) {
        const key = `${top}/${project}/${name}`;
        if (!key.startsWith(prefix) || !KEY_RE.test(key)) continue;
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
