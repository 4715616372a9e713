import net from 'node:net';

/**
 * Ports handed out below Linux's ephemeral range (32768–60999 by default), in a block of its own per
 * Jest worker (or per process outside Jest): a port the OS gives to some `listen(0)` or outgoing
 * connection in a parallel test can then never be the one a child process is about to bind. With
 * `listen(0)` for this, two test files could pick the same port between the probe and the child's
 * bind, and one file's client would talk to the other file's server.
 */
const RANGE_START = 10_000;
const BLOCK = 1_000;
const BLOCKS = 22; // 10000–31999
const worker = Number(process.env.JEST_WORKER_ID ?? 0);
const block = worker > 0 ? (worker - 1) % 11 : 11 + (process.pid % 11);
let next = Math.floor(Math.random() * BLOCK);
/**
 * Ports the Fetch standard blocks ("bad ports"): Node's fetch refuses them, so a service there looks
 * down to every test client. 10080 is the one inside the range above.
 */
const FETCH_BLOCKED = new Set([10080]);

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A TCP port free on loopback right now, from this process's block (see above). */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < BLOCK; tries++) {
    const port = RANGE_START + (block % BLOCKS) * BLOCK + (next++ % BLOCK);
    if (!FETCH_BLOCKED.has(port) && (await canListen(port))) return port;
  }
  throw new Error(`no free port in block ${block} (${RANGE_START + block * BLOCK}–${RANGE_START + (block + 1) * BLOCK - 1})`);
}

/** Resolves once something accepts TCP connections on the port; rejects after the timeout. */
export async function waitForPort(port: number, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!isAlive()) throw new Error(`process for port ${port} exited before it listened`);
    if (Date.now() > deadline) throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
