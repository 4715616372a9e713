/** One stored object as a listing or a stat sees it. */
export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

export interface UploadUrlRequest {
  key: string;
  fileId: string;
  contentType: string;
  /** Declared size: the upload may not be larger. */
  size: number;
  expiresInSeconds: number;
}

export interface DownloadUrlRequest {
  key: string;
  fileId: string;
  /** Who the URL is issued to (the local adapter binds it to them). */
  userId: string;
  fileName: string;
  contentType: string;
  expiresInSeconds: number;
}

export interface WriteOptions {
  /** At most this many bytes: over it, nothing is stored and `writeStream` answers false. */
  limit?: number;
  contentType?: string;
}

/**
 * Where stored bytes live (the files service's uploads, analytics' reports). Clients move bytes
 * straight to and from it through short-lived URLs; a service itself looks at stored objects (size,
 * the first bytes, a stream), writes, moves or removes them. Two adapters pass the same suite: a
 * local directory served by the owning service (the embedded default) and S3 (AWS, MinIO or any
 * S3-compatible endpoint). Keys are made by services only: `/`-separated segments of letters,
 * digits, `.`, `_` and `-`, none starting with a dot.
 */
export interface Storage {
  readonly kind: 'local' | 's3';
  /** A URL to PUT the bytes to: expires; single use where the backend allows (local). */
  uploadUrl(req: UploadUrlRequest): Promise<string>;
  /** A URL to GET the bytes from (Range requests, `Content-Disposition: attachment`): expires. */
  downloadUrl(req: DownloadUrlRequest): Promise<string>;
  /** The object, or null when there is none. */
  stat(key: string): Promise<StoredObject | null>;
  /** Up to `bytes` first bytes (content sniffing). */
  readHead(key: string, bytes: number): Promise<Buffer>;
  /** The whole object as a stream (scanning). */
  read(key: string): Promise<NodeJS.ReadableStream>;
  write(key: string, body: Buffer, contentType?: string): Promise<void>;
  /**
   * Streams bytes into an object that appears only once the stream ended well (local: temp file
   * and rename; S3: a multipart upload completed at the end). An error or a destroyed stream
   * leaves nothing behind (the temp file removed, the multipart upload aborted) and rejects.
   * False, with nothing stored, when the stream is longer than `limit`.
   */
  writeStream(key: string, body: NodeJS.ReadableStream, opts?: WriteOptions): Promise<boolean>;
  /**
   * Moves an object to another key (completion, quarantine). With `meta`, the object at `to` also
   * carries its download headers (S3 serves them with every GET, also where a server ignores the
   * presigned URL's response overrides).
   */
  move(from: string, to: string, meta?: { fileName: string; contentType: string }): Promise<void>;
  /** Removes an object; a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Every object under a prefix, temporary ones included (orphan sweeps). */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** The storage answers (readiness). */
  ping(): Promise<boolean>;
}

/** A key services may use (see Storage). */
export const SAFE_KEY_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** `attachment; filename=…` safe for any name (ASCII fallback plus RFC 5987 UTF-8). */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
