import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { REPO_ROOT } from './compose';

/** Where `vite build` puts the live board (tools/live-board/vite.config.mts). */
export const LIVE_BOARD_DIST = path.join(REPO_ROOT, 'tools/live-board/dist/app');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface LiveBoardServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves the built live board and a `config.json` naming the gateway (`api`), which the app reads at
 * start: one build runs against any stack. Static files only, nothing proxied: the page talks to the
 * gateway itself, so the gateway's CORS_ORIGINS must list this server's origin.
 */
export function serveLiveBoard(opts: { api: string; port: number; host?: string; dir?: string }): Promise<LiveBoardServer> {
  const dir = opts.dir ?? LIVE_BOARD_DIST;
  if (!existsSync(path.join(dir, 'index.html')))
    throw new Error(`no build in ${dir}: run \`npm run build -w @tm/live-board\` first`);
  const config = JSON.stringify({ api: opts.api });
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (pathname === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(config);
      return;
    }
    // anything not a file of the build is the app (a reload on any path still starts it)
    let file = path.join(dir, path.normalize(pathname).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(dir + path.sep) || !statSync(file, { throwIfNoEntry: false })?.isFile())
      file = path.join(dir, 'index.html');
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      // hashed asset names never change; the page itself must be read again to find new ones
      'cache-control': file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        port,
        url: `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'}:${port}/`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

/** `npm run live-board`: serves the build on LIVE_BOARD_PORT (4100) against LIVE_BOARD_API (the local gateway). */
if (require.main === module) {
  const port = Number(process.env.LIVE_BOARD_PORT ?? 4100);
  const api = process.env.LIVE_BOARD_API ?? `http://localhost:${process.env.GATEWAY_PORT ?? 4000}/graphql`;
  serveLiveBoard({ api, port, host: process.env.HOST ?? '127.0.0.1' })
    .then(() => console.log(`[tm] live board: http://localhost:${port}/  (gateway ${api}; Ctrl+C stops it)`))
    .catch((err: unknown) => {
      console.error(`[tm] live board: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
