import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { serviceDownloadUrl } from './local.storage';
import type { UrlSigner } from './signed-url';
import {
  contentDisposition,
  type DownloadUrlRequest,
  type Storage,
  type StoredObject,
  type UploadUrlRequest,
  type WriteOptions,
} from './storage';

export interface S3Options {
  bucket: string;
  region: string;
  /** AWS when unset; MinIO or any S3-compatible server otherwise. */
  endpoint?: string;
  /**
   * Where clients reach the same server, when that differs from `endpoint` (a compose network's
   * `http://minio:9000` vs `http://localhost:9000`): presigned URLs are made for it.
   */
  publicEndpoint?: string;
  /** Unset: the SDK's default chain (env, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Path-style URLs (`endpoint/bucket/key`), what MinIO and most self-hosted servers want. */
  forcePathStyle: boolean;
  /**
   * Downloads through the owning service: `downloadUrl` is then the service's own signed URL
   * (issued to one user, checked on every use: expired, tampered or another user's is FILE-002),
   * which answers with a redirect to a presigned GET valid for `redirectSeconds`. Without it,
   * `downloadUrl` is a plain presigned GET, good for anyone holding it until it expires.
   */
  gate?: { signer: UrlSigner; publicUrl: () => string; redirectSeconds: number };
}

/** A stream longer than `writeStream`'s limit. */
class OverLimit extends Error {
  override name = 'OverLimit';
}

const notFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
};

/**
 * S3 (AWS, MinIO, any S3-compatible endpoint): presigned PUT and GET URLs straight to the bucket.
 * A presigned PUT cannot be made single use; the service moves the object away from the upload
 * key on completion, so a second PUT only leaves an orphan that the sweep removes.
 */
export class S3Storage implements Storage {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  /** Signs the URLs clients use (the same client unless a public endpoint is set). */
  private readonly presigner: S3Client;

  constructor(private readonly opts: S3Options) {
    const make = (endpoint: string | undefined) =>
      new S3Client({
        region: opts.region,
        forcePathStyle: opts.forcePathStyle,
        ...(endpoint ? { endpoint } : {}),
        ...(opts.credentials ? { credentials: opts.credentials } : {}),
      });
    this.client = make(opts.endpoint);
    this.presigner = opts.publicEndpoint ? make(opts.publicEndpoint) : this.client;
  }

  uploadUrl(req: UploadUrlRequest): Promise<string> {
    // the declared length is signed: S3 refuses a PUT of any other size
    const cmd = new PutObjectCommand({
      Bucket: this.opts.bucket,
      Key: req.key,
      ContentType: req.contentType,
      ContentLength: req.size,
    });
    return getSignedUrl(this.presigner, cmd, { expiresIn: req.expiresInSeconds });
  }

  async downloadUrl(req: DownloadUrlRequest): Promise<string> {
    const gate = this.opts.gate;
    return gate ? serviceDownloadUrl(gate.signer, gate.publicUrl(), req) : this.presignedDownloadUrl(req);
  }

  /** Where a gated download URL redirects to, once the service has checked it. */
  redirectUrl(req: Omit<DownloadUrlRequest, 'expiresInSeconds' | 'userId'>): Promise<string> {
    return this.presignedDownloadUrl({ ...req, userId: '', expiresInSeconds: this.opts.gate?.redirectSeconds ?? 60 });
  }

  private presignedDownloadUrl(req: DownloadUrlRequest): Promise<string> {
    const cmd = new GetObjectCommand({
      Bucket: this.opts.bucket,
      Key: req.key,
      ResponseContentDisposition: contentDisposition(req.fileName),
      ResponseContentType: req.contentType,
    });
    return getSignedUrl(this.presigner, cmd, { expiresIn: req.expiresInSeconds });
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: key }));
      return { key, size: h.ContentLength ?? 0, lastModified: h.LastModified ?? new Date(0) };
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  async readHead(key: string, bytes: number): Promise<Buffer> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.opts.bucket, Key: key, Range: `bytes=0-${bytes - 1}` }),
      );
      return Buffer.from(await r.Body!.transformToByteArray()).subarray(0, bytes);
    } catch (err) {
      // an empty object has no byte 0 (416)
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) return Buffer.alloc(0);
      throw err;
    }
  }

  async read(key: string): Promise<NodeJS.ReadableStream> {
    const r = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: key }));
    return r.Body as Readable;
  }

  async write(key: string, body: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async writeStream(key: string, body: NodeJS.ReadableStream, opts: WriteOptions = {}): Promise<boolean> {
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    let size = 0;
    const counted = new PassThrough();
    // parts are sent as they fill (never the whole object in memory); the object exists only once
    // the upload completes, and an abort removes the parts already sent
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.opts.bucket, Key: key, Body: counted, ContentType: opts.contentType ?? 'application/octet-stream' },
      queueSize: 2,
    });
    const done = upload.done();
    // S3 refusing stops the feeding too (no writer left waiting on a full buffer)
    done.catch((err: unknown) => counted.destroy(err instanceof Error ? err : new Error(String(err))));
    const feeding = pipeline(
      body,
      async function* (source: AsyncIterable<Buffer | string>) {
        for await (const piece of source) {
          const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
          size += chunk.length;
          // failing the stream (not ending it) keeps a cut-short object from being completed
          if (size > limit) throw new OverLimit();
          yield chunk;
        }
      },
      counted,
    );
    const [fed, stored] = await Promise.allSettled([feeding, done]);
    if (fed.status === 'fulfilled' && stored.status === 'fulfilled') return true;
    await upload.abort().catch(() => undefined);
    if (fed.status === 'rejected') {
      if (fed.reason instanceof OverLimit) return false;
      throw fed.reason;
    }
    throw (stored as PromiseRejectedResult).reason;
  }

  async move(from: string, to: string, meta?: { fileName: string; contentType: string }): Promise<void> {
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.opts.bucket,
        Key: to,
        CopySource: `${this.opts.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
        ...(meta
          ? { MetadataDirective: 'REPLACE', ContentType: meta.contentType, ContentDisposition: contentDisposition(meta.fileName) }
          : {}),
      }),
    );
    await this.delete(from);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: key }));
    } catch (err) {
      if (!notFound(err)) throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async ping(): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.opts.bucket }));
      return true;
    } catch {
      return false;
    }
  }

  destroy(): void {
    this.client.destroy();
    if (this.presigner !== this.client) this.presigner.destroy();
  }
}
