import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, trackInFlight } from '../src/infra/shutdown';

/**
 * A graceful close under steady keep-alive traffic: Node alone keeps serving a busy keep-alive
 * connection after `close()`, so the process would stay up until its shutdown timeout.
 */
it('ends busy keep-alive connections after their current response, without failing any request', async () => {
  const server = http.createServer((_req, res) => setTimeout(() => res.end('ok'), 20));
  trackInFlight(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 3 });
  let closing = false;
  let ok = 0;
  const failures: string[] = [];
  const get = () =>
    new Promise<void>((resolve) => {
      http
        .get({ port, host: '127.0.0.1', agent }, (res) => {
          res.resume();
          res.on('end', () => {
            ok++;
            resolve();
          });
        })
        .on('error', (err: NodeJS.ErrnoException) => {
          // refused once the server stopped listening: what a balancer sends elsewhere; anything else is a lost request
          if (!(closing && err.code === 'ECONNREFUSED')) failures.push(String(err.code ?? err));
          resolve();
        });
    });
  // three clients, each sending its next request as soon as the last one is answered
  let closed = false;
  const clients = [0, 1, 2].map(async () => {
    while (!closed) await get();
  });
  while (ok < 15) await new Promise((r) => setTimeout(r, 10));
  closing = true;
  const started = Date.now();
  await closeServer(server);
  const tookMs = Date.now() - started;
  closed = true;
  await Promise.all(clients);
  agent.destroy();
  expect(failures).toEqual([]);
  expect(tookMs).toBeLessThan(2000);
});

it('closes a keep-alive connection left idle, after a grace of about a second', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  trackInFlight(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const agent = new http.Agent({ keepAlive: true });
  await new Promise<void>((resolve, reject) => {
    http
      .get({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', agent }, (res) => res.resume().on('end', resolve))
      .on('error', reject);
  });
  const started = Date.now();
  await closeServer(server);
  const tookMs = Date.now() - started;
  agent.destroy();
  expect(tookMs).toBeGreaterThanOrEqual(900);
  expect(tookMs).toBeLessThan(3000);
});
