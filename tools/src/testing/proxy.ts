import net from 'node:net';

/** One backend of the proxy: its port on loopback, and what the proxy has seen of it. */
export interface Backend {
  port: number;
  /** Client connections handed to it so far. */
  connections: number;
  /** Its connections that ended from its side (crash, restart) while the client was still connected. */
  cut: { pending: number; idle: number; upgraded: number };
}

/** One client connection as the proxy handled it (for attributing a client's failure to a backend). */
export interface ProxiedConnection {
  /** The client's port: a client that knows its socket's local port finds its connection here. */
  clientPort: number;
  backend: number;
  backendPort: number;
  openedAt: number;
  endedAt?: number;
  /** Which side ended it; `backend` with `pending` set: a request was cut. */
  endedBy?: 'backend' | 'client';
  pending?: boolean;
}

interface Pair {
  backend: Backend;
  /** The client sent bytes the backend has not answered yet (an HTTP/1.1 request in flight). */
  pending: boolean;
  /** The connection was upgraded (WebSocket): not request/response any more. */
  upgraded: boolean;
  clientGone: boolean;
}

/**
 * A TCP round-robin balancer on loopback for tests: each new client connection goes to the next
 * backend; if that backend refuses (down, restarting), the next one is tried, so a dead process
 * costs only the connections that were open to it. Plain TCP carries HTTP keep-alive and WebSocket
 * alike. For each backend it counts the connections cut from the backend's side and, of those,
 * how many had an HTTP request awaiting its answer at that moment (the requests a crash may fail).
 */
export class RoundRobinProxy {
  readonly backends: Backend[];
  private next = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** New connections that found a backend refusing and were sent to another one. */
  retried = 0;
  /** New connections no backend accepted (all down). */
  refused = 0;
  /** Every client connection handed to a backend, in order. */
  readonly log: ProxiedConnection[] = [];

  constructor(ports: number[]) {
    this.backends = ports.map((port) => ({ port, connections: 0, cut: { pending: 0, idle: 0, upgraded: 0 } }));
    this.server = net.createServer((client) => this.accept(client));
  }

  /** Listens on loopback (the given port, or any free one) and returns the port. */
  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.pause(); // bytes wait in the socket until a backend is connected
    client.on('error', () => client.destroy());
    this.connect(client, this.next++ % this.backends.length, this.backends.length);
  }

  /** Connects the client to backend `index`; if it refuses, to the one after it, until each was tried once. */
  private connect(client: net.Socket, index: number, triesLeft: number): void {
    if (client.destroyed) return;
    if (triesLeft === 0) {
      this.refused++;
      client.destroy();
      return;
    }
    const backend = this.backends[index]!;
    const upstream = net.connect(backend.port, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.once('close', () => this.sockets.delete(upstream));
    let connected = false;
    upstream.once('error', () => {
      if (connected) return; // handled by 'close' below
      upstream.destroy();
      if (triesLeft > 1) this.retried++;
      this.connect(client, (index + 1) % this.backends.length, triesLeft - 1);
    });
    upstream.once('connect', () => {
      connected = true;
      backend.connections++;
      const pair: Pair = { backend, pending: false, upgraded: false, clientGone: false };
      const entry: ProxiedConnection = {
        clientPort: client.remotePort ?? 0,
        backend: index,
        backendPort: backend.port,
        openedAt: Date.now(),
      };
      this.log.push(entry);
      upstream.on('error', () => upstream.destroy());
      client.on('data', (chunk: Buffer) => {
        if (!pair.upgraded && /^upgrade:\s*websocket/im.test(chunk.subarray(0, 4096).toString('latin1'))) pair.upgraded = true;
        pair.pending = true;
        if (!upstream.write(chunk)) client.pause();
      });
      upstream.on('drain', () => client.resume());
      upstream.on('data', (chunk: Buffer) => {
        pair.pending = false;
        if (!client.write(chunk)) upstream.pause();
      });
      client.on('drain', () => upstream.resume());
      client.once('close', () => {
        entry.endedAt ??= Date.now();
        entry.endedBy ??= 'client';
        pair.clientGone = true;
        upstream.destroy();
      });
      client.once('end', () => upstream.end());
      upstream.once('end', () => client.end());
      upstream.once('close', () => {
        if (!pair.clientGone) {
          entry.endedAt = Date.now();
          entry.endedBy = 'backend';
          entry.pending = pair.pending;
          if (pair.upgraded) backend.cut.upgraded++;
          else if (pair.pending) backend.cut.pending++;
          else backend.cut.idle++;
        }
        client.destroy();
      });
      client.resume();
    });
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
