import net from 'node:net';

export type ProxyMode = 'pass' | 'hang-scans';

/**
 * A TCP proxy in front of a real clamd that the scanner tests steer: `pass` forwards everything;
 * `hang-scans` forwards PINGs but swallows INSTREAM scans (accepted, never answered: a scan that
 * times out); `down()` closes the listener (connection refused: the scanner is down) and `up()`
 * listens again on the same port.
 */
export class ScanProxy {
  mode: ProxyMode = 'pass';
  /** INSTREAM connections seen (answered or not). */
  scans = 0;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    const server = net.createServer((client) => this.connection(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }

  private connection(client: net.Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    client.once('data', (first: Buffer) => {
      const scan = first.subarray(0, 10).toString('latin1').includes('INSTREAM');
      if (scan) this.scans++;
      if (scan && this.mode === 'hang-scans') {
        client.resume(); // read and drop, never answer
        return;
      }
      const upstream = net.connect(this.target.port, this.target.host);
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.write(first);
      client.pipe(upstream).pipe(client);
    });
  }
}
