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

/**
 * Where file bytes live. Clients move bytes straight to and from it through short-lived URLs;
 * the service itself only looks at stored objects (size, the first bytes, a stream to scan) and
 * moves or removes them. Two adapters pass the same suite: a local directory served by the files
 * service (the embedded default) and S3 (AWS, MinIO or any S3-compatible endpoint).
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
   * Moves an object to another key (completion, quarantine). With `meta`, the object at `to` also
   * carries its download headers (S3 serves them with every GET, also where a server ignores the
   * presigned URL's response overrides).
   */
  move(from: string, to: string, meta?: { fileName: string; contentType: string }): Promise<void>;
  /** Removes an object; a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Every object under a prefix (the orphan sweep). */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** The storage answers (readiness). */
  ping(): Promise<boolean>;
}

/** Keys are made by the service only: `uploads/<project>/<file>`, `files/…`, `quarantine/…`. */
export const KEY_RE = /^(uploads|files|quarantine)\/[0-9a-f-]{36}\/[0-9a-f-]{36}$/;

export const uploadKey = (projectId: string, fileId: string) => `uploads/${projectId}/${fileId}`;
export const fileKey = (projectId: string, fileId: string) => `files/${projectId}/${fileId}`;
export const quarantineKey = (projectId: string, fileId: string) => `quarantine/${projectId}/${fileId}`;

/** `attachment; filename=…` safe for any name (ASCII fallback plus RFC 5987 UTF-8). */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
