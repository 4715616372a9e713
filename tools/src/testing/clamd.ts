import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findBinary, MissingBinaryError } from '../devstack';
import { freePort } from '../net';

/** The standard 68-byte EICAR anti-virus test file (harmless; every scanner flags it). */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** Our signature's name; clamd reports it with `.UNOFFICIAL` appended (it is not from the official database). */
export const EICAR_SIGNATURE = 'Eicar-Test-Signature';

/**
 * A local signature database (ClamAV `.ndb` body signature: name:target:offset:hex) that matches
 * EICAR at the start of a file, also when followed by anything (the EICAR spec allows trailing
 * whitespace). The official signature mirrors are out of reach here, so the tests bring their own.
 */
export const EICAR_NDB = `${EICAR_SIGNATURE}:0:0:${Buffer.from(EICAR, 'latin1').toString('hex')}\n`;

export interface Clamd {
  host: string;
  port: number;
  /** SIGTERM (SIGKILL after 5 s), then removes the temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface ClamdOptions {
  /** clamd's StreamMaxLength (INSTREAM limit); default 64M, well above the files service's 25 MB default. */
  streamMaxLength?: string;
  /** How long to wait for the first PONG (loading the database); default 60 s. */
  startTimeoutMs?: number;
}

/** clamd from PATH, else Debian's /usr/sbin (not on every user's PATH). */
function clamdBinary(): string {
  const bin = findBinary('clamd') ?? ['/usr/sbin/clamd', '/usr/local/sbin/clamd'].find(isExecutable);
  if (!bin) {
    throw new MissingBinaryError(
      'clamd not found: install it with `apt-get install -y clamav-daemon` (or run `bash tools/install-services.sh`); no freshclam needed',
    );
  }
  return bin;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** One zPING round trip: true on PONG. Never rejects. */
export function clamdPing(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write('zPING\0'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (reply.includes('\0')) done(reply.split('\0')[0] === 'PONG');
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/**
 * A real clamd (Debian's clamav-daemon) in the foreground as a child process on 127.0.0.1 and a free
 * port, with a temp config and a temp database holding only {@link EICAR_NDB}. Resolves once clamd
 * answers PING with PONG.
 */
export async function startClamd(opts: ClamdOptions = {}): Promise<Clamd> {
  const bin = clamdBinary();
  const { streamMaxLength = '64M', startTimeoutMs = 60_000 } = opts;
  const dir = mkdtempSync(path.join(tmpdir(), 'tm-clamd-'));
  const db = path.join(dir, 'db');
  const tmp = path.join(dir, 'tmp');
  mkdirSync(db);
  mkdirSync(tmp);
  writeFileSync(path.join(db, 'tm-eicar.ndb'), EICAR_NDB);
  const host = '127.0.0.1';
  const port = await freePort();
  const conf = path.join(dir, 'clamd.conf');
  writeFileSync(
    conf,
    [
      `TCPSocket ${port}`,
      `TCPAddr ${host}`,
      'Foreground yes',
      `DatabaseDirectory ${db}`,
      `TemporaryDirectory ${tmp}`,
      `StreamMaxLength ${streamMaxLength}`,
      // no User line: clamd keeps the user that started it (root in CI, or any user; it needs no privileges here)
      'LogTime no',
      'LogVerbose no',
      '',
    ].join('\n'),
  );
  const child = spawn(bin, ['-c', conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (e) => {
    output += `\n${e.message}`;
  });

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`clamd exited (${child.exitCode ?? child.signalCode}) before answering PING:\n${output.slice(-2000)}`);
    }
    if (await clamdPing(host, port, 1_000)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`clamd did not answer PING on ${host}:${port} within ${startTimeoutMs} ms:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host, port, stop };
}
