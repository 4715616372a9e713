import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** What a written message counts towards (the engine's per-field delivery metrics). */
export interface Delivery {
  /** The event's publication time (ms since epoch; NaN when unknown). */
  at: number;
  delivered: { inc(count?: number): void };
  /** `count` equal observations at once (the deliveries of one event written together). */
  latency: { observe(seconds: number, count?: number): void };
}

/** A socket's messages waiting to be written, as frame bytes. */
interface Queued {
  raw: Socket;
  chunks: Buffer[];
  bytes: number;
  deliveries: Array<Delivery | undefined>;
}

/**
 * Live `next` messages on their way to the sockets. A message is queued as the bytes of a
 * WebSocket text frame (header, the subscription's `{"id":…,"type":"next","payload":` prefix, the
 * shared payload JSON, `}`), and a socket's queued frames are written together, in one write, on
 * a later turn of the event loop (`sliceMs` of writing per turn, the rest on the turns after).
 * While the gateway keeps up, each socket gets its message on the next turn; once it falls behind
 * (a burst of events, a busy machine), the messages that pile up for a socket leave in one write:
 * a write costs about the same for one small frame as for four (a system call and the loopback
 * or network stack), so a backlog is worked off faster rather than growing. The frames are the
 * same bytes `ws` would send for an uncompressed text message.
 *
 * Order per socket is kept: everything `ws` sends on an attached socket itself (graphql-ws's
 * messages, a close) first writes that socket's queued frames. A socket with a negotiated
 * extension (permessage-deflate, off on this server) is never attached: its messages go through
 * `ws.send`.
 */
export class Outbox {
  private readonly attached = new WeakMap<WebSocket, Socket>();
  private readonly queued = new Map<WebSocket, Queued>();
  private scheduled = false;
  /** Deliveries written and not yet counted, by what they count towards (counted once per write burst). */
  private readonly written = new Map<Delivery, number>();

  constructor(
    private readonly onError: (err: unknown) => void,
    private readonly sliceMs = 8,
  ) {}

  /**
   * Lets this socket's messages be queued here. `raw` is the TCP socket under it (the upgrade
   * request's socket). Its own sends and its close first write what is queued.
   */
  attach(ws: WebSocket, raw: Socket): void {
    if (ws.extensions !== '' || this.attached.has(ws)) return;
    this.attached.set(ws, raw);
    const send = ws.send.bind(ws) as (...args: unknown[]) => void;
    const close = ws.close.bind(ws) as (...args: unknown[]) => void;
    const own = ws as unknown as Record<'send' | 'close', (...args: unknown[]) => void>;
    own.send = (...args: unknown[]) => {
      this.flush(ws);
      send(...args);
    };
    own.close = (...args: unknown[]) => {
      this.flush(ws);
      close(...args);
    };
    ws.once('close', () => this.queued.delete(ws));
  }

  /** Queues a text message made of `parts` (written as one frame). */
  queue(ws: WebSocket, parts: readonly Buffer[], delivery?: Delivery): void {
    if (ws.readyState !== ws.OPEN) return;
    const raw = this.attached.get(ws);
    let length = 0;
    for (const p of parts) length += p.length;
    if (!raw) {
      ws.send(Buffer.concat(parts as Buffer[], length), { binary: false });
      countDelivery(delivery);
      return;
    }
    let q = this.queued.get(ws);
    if (!q) this.queued.set(ws, (q = { raw, chunks: [], bytes: 0, deliveries: [] }));
    const header = this.headerFor(length);
    q.chunks.push(header, ...parts);
    q.bytes += header.length + length;
    q.deliveries.push(delivery);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  /** Frame headers by payload length: one event's messages are mostly of a few lengths (read-only, copied on write). */
  private readonly headers = new Map<number, Buffer>();
  private headerFor(length: number): Buffer {
    let h = this.headers.get(length);
    if (!h) {
      if (this.headers.size >= 256) this.headers.clear();
      this.headers.set(length, (h = frameHeader(length)));
    }
    return h;
  }

  /** Bytes queued here for this socket (not yet handed to it). */
  pendingBytes(ws: WebSocket): number {
    return this.queued.get(ws)?.bytes ?? 0;
  }

  /** Writes this socket's queued messages now. */
  flush(ws: WebSocket): void {
    const q = this.queued.get(ws);
    if (!q) return;
    this.queued.delete(ws);
    this.write(ws, q);
    this.count();
  }

  private write(ws: WebSocket, q: Queued): void {
    // a socket closing or closed gets nothing more (its close frame may already be out)
    if (ws.readyState !== ws.OPEN || q.raw.destroyed) return;
    try {
      q.raw.write(Buffer.concat(q.chunks, q.bytes));
      for (const d of q.deliveries) if (d) this.written.set(d, (this.written.get(d) ?? 0) + 1);
    } catch (err) {
      this.onError(err);
    }
  }

  /** Writes queued sockets in the order they were first queued, `sliceMs` per turn. */
  private readonly drain = (): void => {
    const start = performance.now();
    for (const [ws, q] of this.queued) {
      this.queued.delete(ws);
      this.write(ws, q);
      if (performance.now() - start > this.sliceMs) break;
    }
    this.count();
    if (this.queued.size > 0) setImmediate(this.drain);
    else this.scheduled = false;
  };

  /** Counts what was written since the last count: per event, its deliveries at once, their latency as of now. */
  private count(): void {
    if (this.written.size === 0) return;
    for (const [d, n] of this.written) countDelivery(d, n);
    this.written.clear();
  }
}

/** Counts `count` messages handed to their sockets: delivered, and their latency since the event's publication. */
export function countDelivery(d: Delivery | undefined, count = 1): void {
  if (!d) return;
  d.delivered.inc(count);
  if (!Number.isNaN(d.at)) d.latency.observe(Math.max(0, Date.now() - d.at) / 1000, count);
}

/** A final, unmasked text frame's header for a payload of `length` bytes (RFC 6455 §5.2). */
export function frameHeader(length: number): Buffer {
  if (length < 126) {
    const h = Buffer.allocUnsafe(2);
    h[0] = 0x81;
    h[1] = length;
    return h;
  }
  if (length < 65536) {
    const h = Buffer.allocUnsafe(4);
    h[0] = 0x81;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.allocUnsafe(10);
  h[0] = 0x81;
  h[1] = 127;
  h.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  h.writeUInt32BE(length >>> 0, 6);
  return h;
}
