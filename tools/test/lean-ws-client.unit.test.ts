import type { AddressInfo } from 'node:net';
import { buildSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { LeanClient, nextMessage } from '../src/bench/lean-ws-client';

/** The bench subscribers' reading of `next` messages: parsed, or equal bytes recognised. */
describe('nextMessage', () => {
  const msg = (id: string, payload: string) => Buffer.from(`{"id":"${id}","type":"next","payload":${payload}}`);

  it('gives the id and the parsed payload, the same value for byte-equal payloads and a new one for others', () => {
    const payload = JSON.stringify({
      data: { taskChanged: { taskId: 't1', at: '2026-11-30T00:00:00.000Z', task: { title: 'a' } } },
    });
    const first = nextMessage(msg('1', payload));
    const second = nextMessage(msg('22', payload));
    expect(first).toEqual({ id: '1', payload: JSON.parse(payload) });
    expect(second?.id).toBe('22');
    expect(second?.payload).toBe(first?.payload);
    const other = payload.replace('"a"', '"b"');
    const third = nextMessage(msg('1', other));
    expect(third?.payload).not.toBe(first?.payload);
    expect(third?.payload).toEqual(JSON.parse(other));
  });

  it('leaves every other message to the whole parse', () => {
    expect(nextMessage(Buffer.from('{"type":"connection_ack"}'))).toBeNull();
    expect(nextMessage(Buffer.from('{"id":"1","type":"complete"}'))).toBeNull();
    expect(nextMessage(Buffer.from('{"id":"1","type":"error","payload":[{"message":"x"}]}'))).toBeNull();
    expect(nextMessage(Buffer.from('{"id":"a\\"b","type":"next","payload":{}}'))).toBeNull();
    expect(nextMessage(Buffer.from('{"id":"1","type":"next","payload":{} '))).toBeNull();
    expect(() => nextMessage(msg('1', '{"data":'))).toThrow(SyntaxError);
  });
});

/** The client against graphql-ws's own server on `ws`: the protocol as the gateway speaks it. */
describe('LeanClient', () => {
  let wss: WebSocketServer;
  let url: string;
  let stop: () => Promise<void>;
  const schema = buildSchema(`
    type Query { ok: Boolean }
    type Subscription { count(to: Int!, size: Int): String, tick: String }
  `);
  const roots = {
    // `size`: each value padded to that many characters (a long message: 16- and 64-bit frame lengths)
    count: async function* ({ to, size }: { to: number; size?: number }) {
      for (let i = 1; i <= to; i++) yield { count: String(i).padEnd(size ?? 0, '.') };
    },
    // one value every 10 ms until the subscription ends
    tick: async function* () {
      for (;;) {
        await new Promise((r) => setTimeout(r, 10));
        yield { tick: 'tick' };
      }
    },
  };

  beforeAll(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/graphql`;
    const server = useServer(
      {
        schema,
        roots: { subscription: roots },
        onConnect: (ctx) => (ctx.connectionParams as { authorization?: string } | undefined)?.authorization === 'Bearer ok',
      },
      wss,
    );
    stop = async () => {
      await server.dispose();
      await new Promise<void>((r) => wss.close(() => r()));
    };
  });
  afterAll(() => stop());

  const collect = (client: LeanClient, query: string) =>
    new Promise<unknown[]>((resolve, reject) => {
      const got: unknown[] = [];
      client.subscribe({ query }, { next: (p) => void got.push(p), error: reject, complete: () => resolve(got) });
    });

  it('connects, subscribes and reads every message, short and long, then completes', async () => {
    const client = await LeanClient.connect(url, { authorization: 'Bearer ok' });
    expect(await collect(client, 'subscription { count(to: 3) }')).toEqual(
      [1, 2, 3].map((i) => ({ data: { count: String(i) } })),
    );
    for (const size of [200, 70_000]) {
      const got = (await collect(client, `subscription { count(to: 2, size: ${size}) }`)) as Array<{ data: { count: string } }>;
      expect(got.map((p) => p.data.count.length)).toEqual([size, size]);
    }
    await client.dispose();
  });

  it('is refused when the server refuses the connection, and errors its subscriptions when the server closes', async () => {
    await expect(LeanClient.connect(url, { authorization: 'Bearer no' })).rejects.toThrow(/closed before connected: 4403/);
    const client = await LeanClient.connect(url, { authorization: 'Bearer ok' });
    const ended = new Promise<unknown>((resolve) =>
      client.subscribe(
        { query: 'subscription { tick }' },
        { next: () => undefined, error: resolve, complete: () => resolve(null) },
      ),
    );
    for (const socket of wss.clients) socket.close(4400, 'bye');
    expect(String(await ended)).toContain('socket closed: 4400');
    await client.dispose();
  });
});
