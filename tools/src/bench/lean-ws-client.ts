import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';

/** What a subscription is told (graphql-ws's sink, minus what the bench does not use). */
export interface LeanSink<T> {
  next(payload: T): void;
  error(err: unknown): void;
  complete(): void;
}

/** RFC 6455 §1.3: the GUID the server appends to the client's key in its accept header. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const enum Op {
  Continuation = 0x0,
  Text = 0x1,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xa,
}

/**
 * The bench subscribers' side of the graphql-transport-ws protocol (what graphql-ws's client
 * sends and expects: connection_init → connection_ack, subscribe / next / error / complete, pong
 * for ping) on a WebSocket of its own: the HTTP upgrade with node's http client, then frames read
 * and written on the TCP socket here (RFC 6455: client frames masked, server frames unmasked,
 * fragments joined, ping answered, close answered). No graphql-ws client machinery and no `ws`
 * stream pipeline per message: the load generator shares the 2-core machine with the stack it
 * measures, and at 20,000 messages a second those were most of its time. The messages on the
 * wire are the same; every message is read, every payload checked by the bench. Tests use
 * graphql-ws's own client.
 */
export class LeanClient {
  private readonly sinks = new Map<string, LeanSink<never>>();
  private seq = 0;
  private disposed = false;
  private ended = false;
  private closeCode = 1006;
  /** Bytes of a frame not complete yet. */
  private pending: Buffer | null = null;
  /** A fragmented message's parts so far. */
  private fragments: Buffer[] | null = null;
  private onMessage: (data: Buffer) => void = () => undefined;

  private constructor(private readonly socket: Socket) {}

  /** Connects and waits for the server's acknowledgement; rejects when the socket closes first. */
  static connect(url: string, connectionParams: Record<string, unknown>): Promise<LeanClient> {
    const target = new URL(url);
    const key = randomBytes(16).toString('base64');
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: target.hostname,
        port: target.port || 80,
        path: `${target.pathname}${target.search}`,
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-key': key,
          'sec-websocket-version': '13',
          'sec-websocket-protocol': 'graphql-transport-ws',
        },
      });
      req.on('response', (res) => {
        res.resume();
        reject(new Error(`closed before connected: HTTP ${res.statusCode}`));
      });
      req.on('error', (err) => reject(new Error(`closed before connected: ${err.message}`)));
      req.on('upgrade', (res, socket, head) => {
        const accept = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
        if (res.headers['sec-websocket-accept'] !== accept || res.headers['sec-websocket-protocol'] !== 'graphql-transport-ws') {
          socket.destroy();
          return reject(new Error('closed before connected: not a graphql-transport-ws upgrade'));
        }
        socket.setNoDelay(true);
        const client = new LeanClient(socket);
        let acked = false;
        client.onMessage = (data) => {
          const next = nextMessage(data);
          if (next) return client.sinks.get(next.id)?.next(next.payload as never);
          const msg = JSON.parse(data.toString()) as { type: string; id?: string; payload?: unknown };
          switch (msg.type) {
            case 'connection_ack':
              acked = true;
              return resolve(client);
            case 'ping':
              return client.send('{"type":"pong"}');
            case 'next':
              return client.sinks.get(msg.id!)?.next(msg.payload as never);
            case 'error': {
              const sink = client.sinks.get(msg.id!);
              client.sinks.delete(msg.id!);
              return sink?.error(msg.payload);
            }
            case 'complete': {
              const sink = client.sinks.get(msg.id!);
              client.sinks.delete(msg.id!);
              return sink?.complete();
            }
          }
        };
        socket.on('data', (chunk: Buffer) => client.read(chunk));
        socket.on('error', () => undefined); // its close follows
        socket.on('close', () => {
          client.ended = true;
          if (!acked) return reject(new Error(`closed before connected: ${client.closeCode}`));
          client.closed(client.closeCode);
        });
        if (head.length) client.read(head);
        client.send(JSON.stringify({ type: 'connection_init', payload: connectionParams }));
      });
      req.end();
    });
  }

  /** Starts a subscription; the returned function completes it (as graphql-ws's `subscribe`). */
  subscribe<T>(payload: { query: string; variables?: Record<string, unknown> }, sink: LeanSink<T>): () => void {
    const id = String(++this.seq);
    this.sinks.set(id, sink as LeanSink<never>);
    this.send(JSON.stringify({ id, type: 'subscribe', payload }));
    return () => {
      if (!this.sinks.delete(id) || this.ended) return;
      this.send(JSON.stringify({ id, type: 'complete' }));
    };
  }

  /** Closes the socket (1000) and waits until it is closed. */
  dispose(): Promise<void> {
    this.disposed = true;
    this.sinks.clear();
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.closeWith(1000, 'Normal Closure');
      // the server answers with its close frame and ends the connection; do not wait forever
      setTimeout(() => this.socket.destroy(), 2000).unref();
    });
  }

  private send(text: string): void {
    if (!this.ended) this.socket.write(frame(Op.Text, Buffer.from(text)));
  }

  private closeWith(code: number, reason: string): void {
    const body = Buffer.alloc(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code, 0);
    body.write(reason, 2);
    this.socket.end(frame(Op.Close, body));
  }

  /** Reads the frames in `chunk` (and what was left of the last one). */
  private read(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let at = 0;
    while (buf.length - at >= 2) {
      const b0 = buf[at]!;
      const b1 = buf[at + 1]!;
      let length = b1 & 0x7f;
      let start = at + 2;
      if (length === 126) {
        if (buf.length - at < 4) break;
        length = buf.readUInt16BE(at + 2);
        start = at + 4;
      } else if (length === 127) {
        if (buf.length - at < 10) break;
        length = buf.readUInt32BE(at + 2) * 2 ** 32 + buf.readUInt32BE(at + 6);
        start = at + 10;
      }
      if (b1 & 0x80) {
        // a server never masks its frames (RFC 6455 §5.1)
        this.socket.destroy();
        return;
      }
      if (buf.length - start < length) break;
      const payload = buf.subarray(start, start + length);
      at = start + length;
      this.frame(b0 & 0x0f, (b0 & 0x80) !== 0, payload);
    }
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
  }

  private frame(op: number, fin: boolean, payload: Buffer): void {
    switch (op) {
      case Op.Text:
      case Op.Continuation: {
        if (!fin || this.fragments) {
          (this.fragments ??= []).push(Buffer.from(payload));
          if (!fin) return;
          const whole = Buffer.concat(this.fragments);
          this.fragments = null;
          return this.onMessage(whole);
        }
        return this.onMessage(payload);
      }
      case Op.Ping:
        if (!this.ended) this.socket.write(frame(Op.Pong, payload));
        return;
      case Op.Close:
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (!this.ended) this.socket.end(frame(Op.Close, payload.subarray(0, 2)));
        return;
      default:
        return; // pong, binary: nothing for this client
    }
  }

  /** The server closed the socket: every subscription still open ends with an error (graphql-ws does the same). */
  private closed(code: number): void {
    if (this.disposed) return;
    const sinks = [...this.sinks.values()];
    this.sinks.clear();
    for (const sink of sinks) sink.error(new Error(`socket closed: ${code}`));
  }
}

/** A final client frame (masked, RFC 6455 §5.3) of this opcode and payload. */
function frame(op: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + n);
  out[0] = 0x80 | op;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  for (let i = 0; i < n; i++) out[head + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** `{"id":"` and `","type":"next","payload":` as the gateway writes a `next` message (graphql-ws's key order). */
const NEXT_HEAD = Buffer.from('{"id":"');
const NEXT_MID = Buffer.from('","type":"next","payload":');
const QUOTE = 0x22;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const CLOSE_BRACE = 0x7d;

/** The payloads parsed last, with their bytes: one live event's payload reaches every subscriber. */
const recent: Array<{ bytes: Buffer; payload: unknown }> = [];
const RECENT = 8;

/**
 * A `next` message's subscription id and payload. Its payload is parsed unless its bytes are equal
 * to one of the last payloads parsed (compared byte for byte: then the value is the same), so the
 * thousand subscribers of one event do not parse the same text a thousand times. Anything not in
 * exactly this form (null) is parsed whole by the caller.
 */
export function nextMessage(data: Buffer): { id: string; payload: unknown } | null {
  if (data.length < NEXT_HEAD.length + NEXT_MID.length + 3 || data[data.length - 1] !== CLOSE_BRACE) return null;
  if (data.compare(NEXT_HEAD, 0, NEXT_HEAD.length, 0, NEXT_HEAD.length) !== 0) return null;
  const idEnd = data.indexOf(QUOTE, NEXT_HEAD.length);
  if (idEnd <= NEXT_HEAD.length) return null;
  // the client's own ids are digits (no escapes to read)
  for (let i = NEXT_HEAD.length; i < idEnd; i++) if (data[i]! < DIGIT_0 || data[i]! > DIGIT_9) return null;
  if (data.compare(NEXT_MID, 0, NEXT_MID.length, idEnd, idEnd + NEXT_MID.length) !== 0) return null;
  const id = data.toString('latin1', NEXT_HEAD.length, idEnd);
  const bytes = data.subarray(idEnd + NEXT_MID.length, data.length - 1);
  for (const r of recent) if (r.bytes.equals(bytes)) return { id, payload: r.payload };
  const payload: unknown = JSON.parse(bytes.toString());
  recent.unshift({ bytes: Buffer.from(bytes), payload });
  if (recent.length > RECENT) recent.pop();
  return { id, payload };
}
