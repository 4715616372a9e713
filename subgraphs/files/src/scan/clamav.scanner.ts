import net from 'node:net';
import type { Scanner } from './scanner.types';

/**
 * Why a scan could not give a verdict: clamd `unavailable` (refused, reset, closed before answering),
 * `timeout` (no verdict in time; the socket is destroyed), `rejected` (clamd answered with an error,
 * e.g. `INSTREAM size limit exceeded`: retrying the same file will not help), `protocol` (an answer we
 * do not understand), `input` (reading the file failed).
 */
export type ScanFailure = 'unavailable' | 'timeout' | 'rejected' | 'protocol' | 'input';

export class ScanError extends Error {
  constructor(
    message: string,
    readonly reason: ScanFailure,
  ) {
    super(message);
    this.name = 'ScanError';
  }
}

export interface ClamAvOptions {
  host: string;
  port: number;
  /** Whole scan (connect, send, verdict); default 30 s. `ping` waits at most 5 s (or this, if less). */
  timeoutMs?: number;
  /**
   * The most bytes sent for one file; more is refused here (reason `rejected`) before it is sent. Set it
   * to clamd's StreamMaxLength: over that clamd answers `INSTREAM size limit exceeded` and closes while
   * the file is still being sent, and the reset can overtake its answer (a broken connection instead).
   */
  maxBytes?: number;
}

/** INSTREAM chunk size: a Buffer input goes out in slices of this (views, no copies). */
const CHUNK = 64 * 1024;
/** clamd's replies are one short line; anything longer without its NUL terminator is not clamd. */
const MAX_REPLY = 16 * 1024;

/** A clamd verdict line (`z` commands end it with NUL, stripped before this). */
export function parseScanReply(reply: string): { infected: boolean; signature?: string } {
  if (reply === 'stream: OK') return { infected: false };
  const found = /^stream: (.+) FOUND$/.exec(reply);
  if (found) return { infected: true, signature: found[1] };
  if (/ERROR$/.test(reply))
    throw new ScanError(`clamd refused the scan: ${reply.replace(/^stream:\s*/, '').replace(/\.?\s*ERROR$/, '')}`, 'rejected');
  throw new ScanError(`unexpected clamd reply: ${JSON.stringify(reply.slice(0, 200))}`, 'protocol');
}

/**
 * ClamAV through clamd's INSTREAM protocol over TCP: `zINSTREAM\0`, then the file as chunks each
 * prefixed with its length (4 bytes, big-endian), then a zero length; clamd answers `stream: OK` or
 * `stream: <signature> FOUND`. The input is streamed with backpressure, never held whole in memory.
 * One connection per call. A stream input is consumed, and destroyed when the scan ends before it is sent whole.
 */
export class ClamAvScanner implements Scanner {
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(opts: ClamAvOptions) {
    this.host = opts.host;
    this.port = opts.port;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxBytes = opts.maxBytes ?? Infinity;
  }

  async scan(input: NodeJS.ReadableStream | Buffer): Promise<{ infected: boolean; signature?: string }> {
    return parseScanReply(await this.exchange('zINSTREAM\0', input, this.timeoutMs));
  }

  /** True when clamd answers PONG; false on any error or timeout. */
  async ping(): Promise<boolean> {
    try {
      return (await this.exchange('zPING\0', null, Math.min(this.timeoutMs, 5_000))) === 'PONG';
    } catch {
      return false;
    }
  }

  /** Sends a command (and for INSTREAM the body) and resolves with clamd's NUL-terminated reply. */
  private exchange(command: string, body: NodeJS.ReadableStream | Buffer | null, timeoutMs: number): Promise<string> {
    const where = `clamd at ${this.host}:${this.port}`;
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      let connected = false;
      let bodySent = false;
      let sentBytes = 0;
      let reply = Buffer.alloc(0);
      const socket = net.connect({ host: this.host, port: this.port });
      socket.setNoDelay(true);

      const finish = (err: Error | null, value?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        // an unfinished scan releases its input (an S3 body, say, holds a connection until read or destroyed)
        if (!bodySent && body && !Buffer.isBuffer(body)) (body as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        if (err) reject(err);
        else resolve(value!);
      };
      /** The reply when it is complete (clamd may answer early, e.g. on a size limit, and then close). */
      const complete = (): string | null => {
        const end = reply.indexOf(0);
        return end >= 0 ? reply.subarray(0, end).toString('utf8').trim() : null;
      };
      const timer = setTimeout(
        () =>
          finish(
            new ScanError(
              `${where} gave no answer within ${timeoutMs} ms (${connected ? 'connected' : 'not connected'})`,
              'timeout',
            ),
          ),
        timeoutMs,
      );

      socket.on('data', (d: Buffer) => {
        reply = Buffer.concat([reply, d]);
        const line = complete();
        if (line !== null) finish(null, line);
        else if (reply.length > MAX_REPLY)
          finish(new ScanError(`${where} sent ${reply.length} bytes without a reply terminator`, 'protocol'));
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        const line = complete();
        if (line !== null) return finish(null, line);
        finish(
          new ScanError(
            connected
              ? `${where} broke the connection before answering (${e.code ?? e.message}${
                  body === null || bodySent ? '' : ` after ${sentBytes} bytes of the file: more than its StreamMaxLength?`
                })`
              : `${where} is unreachable (${e.code ?? e.message})`,
            'unavailable',
          ),
        );
      });
      socket.once('close', () => {
        const line = complete();
        if (line !== null) return finish(null, line);
        finish(new ScanError(`${where} closed the connection before answering`, 'unavailable'));
      });

      /** Writes with backpressure; resolves at once when the exchange is over. */
      const write = (buf: Buffer): Promise<void> =>
        new Promise((done) => {
          if (settled || socket.destroyed) return done();
          if (socket.write(buf)) return done();
          const onDone = () => {
            socket.off('drain', onDone);
            socket.off('close', onDone);
            done();
          };
          socket.on('drain', onDone);
          socket.on('close', onDone);
        });
      const writeChunk = async (chunk: Buffer) => {
        if (sentBytes + chunk.length > this.maxBytes) {
          return finish(new ScanError(`the file is larger than the scanner's limit of ${this.maxBytes} bytes`, 'rejected'));
        }
        for (let off = 0; off < chunk.length && !settled; off += CHUNK) {
          const part = chunk.subarray(off, off + CHUNK);
          const len = Buffer.allocUnsafe(4);
          len.writeUInt32BE(part.length, 0);
          socket.write(len);
          sentBytes += part.length;
          await write(part);
        }
      };
      const send = async () => {
        await write(Buffer.from(command, 'latin1'));
        if (body === null) return;
        if (Buffer.isBuffer(body)) await writeChunk(body);
        else {
          for await (const chunk of body) {
            if (settled) break; // leaving the loop destroys the input stream
            await writeChunk(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
          }
        }
        await write(Buffer.alloc(4)); // zero length: end of stream
        bodySent = !settled;
      };

      socket.once('connect', () => {
        connected = true;
        send().catch((e: unknown) =>
          finish(new ScanError(`reading the file to scan failed: ${e instanceof Error ? e.message : String(e)}`, 'input')),
        );
      });
    });
  }
}
