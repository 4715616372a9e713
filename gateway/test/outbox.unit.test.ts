import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { Outbox, type Delivery } from '../src/realtime/outbox';

/** A real ws server and client on loopback; the server side's sockets go through an Outbox. */
async function pair(outbox: Outbox) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const accepted = new Promise<{ ws: WebSocket; writes: () => number }>((resolve) =>
    wss.once('connection', (ws, req) => {
      let writes = 0;
      const write = req.socket.write.bind(req.socket) as (...a: unknown[]) => boolean;
      // counts the writes that reach the TCP socket (ws's own and the outbox's)
      (req.socket as unknown as { write: (...a: unknown[]) => boolean }).write = (...a: unknown[]) => (writes++, write(...a));
      outbox.attach(ws, req.socket);
      resolve({ ws, writes: () => writes });
    }),
  );
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const received: Array<{ text: string; binary: boolean }> = [];
  client.on('message', (data, binary) => received.push({ text: (data as Buffer).toString(), binary }));
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    client.once('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  await new Promise<void>((r) => client.once('open', () => r()));
  const server = await accepted;
  return {
    ...server,
    client,
    received,
    closed,
    until: async (n: number) => {
      const deadline = Date.now() + 5000;
      while (received.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      return received.map((m) => m.text);
    },
    stop: async () => {
      client.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

const parts = (text: string) => [Buffer.from(text.slice(0, 3)), Buffer.from(text.slice(3))];
const counter = () => {
  /** Deliveries counted, and one latency per delivery (observations may come several at once). */
  const seen = { delivered: 0, latencies: [] as number[] };
  const d: Delivery = {
    at: Date.now() - 10,
    delivered: { inc: (n = 1) => void (seen.delivered += n) },
    latency: { observe: (s, n = 1) => void seen.latencies.push(...new Array<number>(n).fill(s)) },
  };
  return { d, seen };
};

describe('Outbox: live messages to the sockets', () => {
  it('sends each queued message as its own text frame, a socket’s backlog in one write, counted when written', async () => {
    const outbox = new Outbox((e) => {
      throw e;
    });
    const p = await pair(outbox);
    const { d, seen } = counter();
    const before = p.writes();
    outbox.queue(p.ws, parts('{"n":1}'), d);
    outbox.queue(p.ws, parts('{"n":2}'), d);
    outbox.queue(p.ws, parts('{"n":3}'), d);
    expect(outbox.pendingBytes(p.ws)).toBe(3 * (2 + 7));
    expect(seen).toEqual({ delivered: 0, latencies: [] }); // not written yet: not counted
    expect(await p.until(3)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(p.received.every((m) => !m.binary)).toBe(true);
    expect(p.writes() - before).toBe(1);
    expect(outbox.pendingBytes(p.ws)).toBe(0);
    // three deliveries, each with its latency (≥ the 10 ms since its event)
    expect(seen.delivered).toBe(3);
    expect(seen.latencies).toHaveLength(3);
    expect(seen.latencies.every((s) => s >= 0.01)).toBe(true);
    await p.stop();
  });

  it('frames payloads of every length class (7-bit, 16-bit and 64-bit lengths)', async () => {
    const outbox = new Outbox(() => undefined);
    const p = await pair(outbox);
    const texts = [125, 126, 65535, 65536, 200_000].map((n) => JSON.stringify('x'.repeat(n - 2)));
    for (const t of texts) outbox.queue(p.ws, parts(t));
    expect(await p.until(texts.length)).toEqual(texts);
    await p.stop();
  });

  it('keeps order with what ws sends itself and with a close', async () => {
    const outbox = new Outbox(() => undefined);
    const p = await pair(outbox);
    outbox.queue(p.ws, parts('{"n":1}'));
    outbox.queue(p.ws, parts('{"n":2}'));
    p.ws.send('{"direct":3}'); // e.g. graphql-ws's error or complete message
    outbox.queue(p.ws, parts('{"n":4}'));
    p.ws.close(4403, 'gone');
    outbox.queue(p.ws, parts('{"n":5}')); // after the close: never sent
    expect(await p.closed).toEqual({ code: 4403, reason: 'gone' });
    expect(p.received.map((m) => m.text)).toEqual(['{"n":1}', '{"n":2}', '{"direct":3}', '{"n":4}']);
    await new Promise((r) => setImmediate(r));
    expect(outbox.pendingBytes(p.ws)).toBe(0);
    await p.stop();
  });

  it('drops what is queued for a socket the client closed', async () => {
    const outbox = new Outbox(() => undefined);
    const p = await pair(outbox);
    const serverClosed = new Promise((r) => p.ws.once('close', r));
    p.client.close();
    await serverClosed;
    const { d, seen } = counter();
    outbox.queue(p.ws, parts('{"n":1}'), d);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual({ delivered: 0, latencies: [] });
    expect(outbox.pendingBytes(p.ws)).toBe(0);
    await p.stop();
  });
});
