/**
 * A virus scanner: the built-in EICAR scanner (embedded default) or ClamAV over clamd's INSTREAM
 * protocol (when CLAMAV_HOST is set). `scan` rejects when the scanner cannot answer (down, timeout):
 * the scan job then retries and the file stays SCANNING.
 */
export interface Scanner {
  scan(input: NodeJS.ReadableStream | Buffer): Promise<{ infected: boolean; signature?: string }>;
  ping(): Promise<boolean>;
}
