import type { IncomingMessage } from 'node:http';
import { clientAddress } from '../src/auth';

/** The client address the gateway signs into the subgraph context (for per-address brute-force limits). */
const req = (remoteAddress: string, xff?: string) =>
  ({ socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

it('uses the socket peer and ignores X-Forwarded-For unless proxies are trusted', () => {
  expect(clientAddress(req('203.0.113.7', '198.51.100.1'), 0)).toBe('203.0.113.7');
  expect(clientAddress(req('::ffff:127.0.0.1'), 0)).toBe('127.0.0.1');
});

it('behind N trusted proxies takes the entry the outermost one added, never a client-supplied one', () => {
  // client forged "1.1.1.1"; the one proxy appended the real client address
  expect(clientAddress(req('10.0.0.2', '1.1.1.1, 203.0.113.9'), 1)).toBe('203.0.113.9');
  expect(clientAddress(req('10.0.0.3', '1.1.1.1, 203.0.113.9, 10.0.0.2'), 2)).toBe('203.0.113.9');
  // fewer entries than trusted hops, or garbage: fall back to the socket
  expect(clientAddress(req('10.0.0.2'), 1)).toBe('10.0.0.2');
  expect(clientAddress(req('10.0.0.2', 'not an ip <script>'), 1)).toBe('10.0.0.2');
});
