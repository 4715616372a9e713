import { createECDH, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
const ece = require('http_ece') as { decrypt(buf: Buffer, opts: Record<string, unknown>): Buffer };
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { as, data } from '@tm/tools/testing/graphql';
import type { TestUser } from '@tm/tools/testing/stack';

export { as, data };
export { waitFor } from '@tm/tools/testing/wait';

export interface NotificationView {
  id: string;
  kind: string;
  title: string;
  body: string | null;
  link: string | null;
  read: boolean;
  level: string;
}

export const MY_NOTIFICATIONS = `query($first: Int, $after: String, $unread: Boolean) { me { id unreadNotificationCount
  notifications(first: $first, after: $after, unreadOnly: $unread) { totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id kind title body link read level createdAt recipient { id } task { id title } project { id name } } } } } }`;

export async function notificationsOf(url: string, u: TestUser, first = 100): Promise<NotificationView[]> {
  const r = data<{ me: { notifications: { edges: Array<{ node: NotificationView }> } } }>(
    await as(url, u, MY_NOTIFICATIONS, { first }),
  );
  return r.me.notifications.edges.map((e) => e.node);
}

export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
}

/**
 * A real SMTP server (the `smtp-server` package) on a free port, keeping what arrives (parsed).
 * `down()` stops it (connections refused) and `up()` starts it again on the same port;
 * `refuseNext(n)` answers the next n messages with a temporary failure (451).
 */
export class TestSmtp {
  readonly mails: ReceivedMail[] = [];
  private server: SMTPServer | null = null;
  port = 0;
  private refusals = 0;

  async up(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, _session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (this.refusals > 0) {
            this.refusals--;
            const err = Object.assign(new Error('Try again later'), { responseCode: 451 });
            return callback(err);
          }
          void simpleParser(Buffer.concat(chunks)).then((m) => {
            const to = Array.isArray(m.to) ? m.to.map((a) => a.text).join(',') : (m.to?.text ?? '');
            this.mails.push({
              to,
              subject: m.subject ?? '',
              text: m.text ?? '',
              html: typeof m.html === 'string' ? m.html : '',
              messageId: m.messageId ?? '',
            });
            callback();
          }, callback);
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  refuseNext(n: number): void {
    this.refusals = n;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  to(email: string): ReceivedMail[] {
    return this.mails.filter((m) => m.to.toLowerCase().includes(email.toLowerCase()));
  }
}

export interface PushDevice {
  id: string;
  /** The PushSubscription JSON a browser would hand over. */
  token: string;
  received: Array<Record<string, unknown>>;
  /** What the endpoint answers: 201 delivered, 410 gone, 500 failing. */
  status: number;
}

/**
 * A local Web Push endpoint over HTTPS (push services are HTTPS; a self-signed certificate made
 * with openssl, trusted by the service through NODE_EXTRA_CA_CERTS=`caFile`): decrypts each push
 * (RFC 8291, aes128gcm) with the device's keys and checks the VAPID authorization.
 */
export class TestPushService {
  private readonly devices = new Map<string, PushDevice & { ecdh: ReturnType<typeof createECDH>; auth: Buffer }>();
  private server: http.Server | null = null;
  private dir = '';
  base = '';
  caFile = '';
  readonly refused: string[] = [];

  async start(): Promise<void> {
    this.dir = mkdtempSync(path.join(tmpdir(), 'tm-push-'));
    const key = path.join(this.dir, 'key.pem');
    this.caFile = path.join(this.dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        this.caFile,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    this.server = https.createServer({ key: readFileSync(key), cert: readFileSync(this.caFile) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const id = (req.url ?? '').split('/').pop() ?? '';
        const device = this.devices.get(id);
        const auth = String(req.headers.authorization ?? '');
        if (!device) return void res.writeHead(404).end();
        if (!/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/.test(auth) || req.headers['content-encoding'] !== 'aes128gcm') {
          this.refused.push(id);
          return void res.writeHead(401).end();
        }
        if (device.status !== 201) return void res.writeHead(device.status).end();
        const plain = ece.decrypt(Buffer.concat(chunks), {
          version: 'aes128gcm',
          privateKey: device.ecdh,
          authSecret: device.auth.toString('base64url'),
        });
        device.received.push(JSON.parse(plain.toString('utf8')) as Record<string, unknown>);
        res.writeHead(201).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.base = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  device(status = 201): PushDevice {
    const id = randomBytes(8).toString('hex');
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const token = JSON.stringify({
      endpoint: `${this.base}/push/${id}`,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
    });
    const d = { id, token, received: [], status, ecdh, auth };
    this.devices.set(id, d);
    return d;
  }

  async stop(): Promise<void> {
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A graphql-ws client on the gateway, signed in as `u`. */
export function liveClient(url: string, u: TestUser): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${u.token}` },
    retryAttempts: 0,
    lazy: false,
  });
}

/** Subscribes and collects what arrives; `ready` resolves once the server has started the subscription (a first probe event is not needed). */
export function collect(
  client: Client,
  query: string,
): { items: Array<Record<string, unknown>>; errors: unknown[]; stop: () => void } {
  const items: Array<Record<string, unknown>> = [];
  const errors: unknown[] = [];
  const stop = client.subscribe(
    { query },
    {
      next: (r) => (r.errors ? errors.push(r.errors) : items.push(r.data as Record<string, unknown>)),
      error: (e) => errors.push(e),
      complete: () => undefined,
    },
  );
  return { items, errors, stop };
}
