import net from 'node:net';
import { Readable } from 'node:stream';
import { EICAR, EICAR_SIGNATURE, startClamd, type Clamd } from '@tm/tools/testing/clamd';
import { freePort } from '@tm/tools/net';
import { ClamAvScanner, parseScanReply, ScanError } from '../src/scan/clamav.scanner';

/**
 * The ClamAV adapter against a real clamd (Debian's clamav-daemon, started by the test with a local
 * signature database that flags EICAR), plus a silent TCP server for the timeout path.
 */

let clamd: Clamd;
let scanner: ClamAvScanner;

beforeAll(async () => {
  clamd = await startClamd();
  scanner = new ClamAvScanner({ host: clamd.host, port: clamd.port, timeoutMs: 20_000 });
}, 90_000);

afterAll(async () => {
  await clamd?.stop();
});

/** A stream of `total` bytes of `fill` in `chunk`-sized pieces, produced lazily (nothing held whole). */
function lazyStream(total: number, chunk: number, fill = 0x61): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(chunk, total - sent);
      sent += n;
      this.push(Buffer.alloc(n, fill));
    },
  });
}

describe('ClamAvScanner against a real clamd', () => {
  it('ping is true while clamd runs', async () => {
    expect(await scanner.ping()).toBe(true);
  });

  it('a clean buffer is not infected', async () => {
    expect(await scanner.scan(Buffer.from('just a plain text file\n'))).toEqual({ infected: false });
  });

  it('an empty file is not infected', async () => {
    expect(await scanner.scan(Buffer.alloc(0))).toEqual({ infected: false });
  });

  it('EICAR is infected, with the signature name', async () => {
    const r = await scanner.scan(Buffer.from(EICAR, 'latin1'));
    expect(r.infected).toBe(true);
    expect(r.signature).toContain(EICAR_SIGNATURE);
  });

  it('EICAR with trailing whitespace (allowed by the EICAR spec) is infected', async () => {
    const r = await scanner.scan(Buffer.from(`${EICAR}\r\n`, 'latin1'));
    expect(r).toEqual({ infected: true, signature: expect.stringContaining(EICAR_SIGNATURE) });
  });

  it('a stream input: EICAR split over several chunks is infected', async () => {
    const bytes = Buffer.from(EICAR, 'latin1');
    const r = await scanner.scan(Readable.from([bytes.subarray(0, 10), bytes.subarray(10, 40), bytes.subarray(40)]));
    expect(r).toEqual({ infected: true, signature: expect.stringContaining(EICAR_SIGNATURE) });
  });

  it('a stream input of 25 MB (the default upload limit) goes through in chunks and is clean', async () => {
    const input = lazyStream(25 * 1024 * 1024, 256 * 1024);
    expect(await scanner.scan(input)).toEqual({ infected: false });
  }, 60_000);

  it('scans concurrently, each on its own connection', async () => {
    const results = await Promise.all([
      scanner.scan(Buffer.from('clean one')),
      scanner.scan(Buffer.from(EICAR, 'latin1')),
      scanner.scan(Readable.from([Buffer.from('clean two')])),
    ]);
    expect(results.map((r) => r.infected)).toEqual([false, true, false]);
  });

  it('a stream that fails while being read rejects as an input error', async () => {
    const input = new Readable({
      read() {
        this.destroy(new Error('disk went away'));
      },
    });
    await expect(scanner.scan(input)).rejects.toMatchObject({
      name: 'ScanError',
      reason: 'input',
      message: expect.stringContaining('disk went away'),
    });
    expect(await scanner.ping()).toBe(true);
  });
});

describe('clamd limits', () => {
  let small: Clamd;

  beforeAll(async () => {
    small = await startClamd({ streamMaxLength: '1M' });
  }, 90_000);

  afterAll(async () => {
    await small?.stop();
  });

  it('a stream over StreamMaxLength fails clearly, and the input is released', async () => {
    const s = new ClamAvScanner({ host: small.host, port: small.port, timeoutMs: 20_000 });
    const input = lazyStream(4 * 1024 * 1024, 64 * 1024);
    const err = await s.scan(input).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ScanError);
    // clamd answers "INSTREAM size limit exceeded. ERROR" and closes while we still send: the reset
    // can overtake the answer (then it is a broken connection, with the likely cause named)
    const e = err as ScanError;
    if (e.reason === 'rejected') expect(e.message).toMatch(/size limit exceeded/);
    else expect(e).toMatchObject({ reason: 'unavailable', message: expect.stringContaining('more than its StreamMaxLength?') });
    expect(input.destroyed).toBe(true);
    expect(await s.ping()).toBe(true);
  });

  it('with maxBytes set to the StreamMaxLength, an oversized file is refused before it is sent', async () => {
    const s = new ClamAvScanner({ host: small.host, port: small.port, maxBytes: 1024 * 1024 });
    const input = lazyStream(4 * 1024 * 1024, 64 * 1024);
    await expect(s.scan(input)).rejects.toMatchObject({ reason: 'rejected', message: expect.stringContaining('1048576 bytes') });
    expect(input.destroyed).toBe(true);
    await expect(s.scan(Buffer.alloc(1024 * 1024 + 1))).rejects.toMatchObject({ reason: 'rejected' });
    // exactly the limit still goes through
    expect(await s.scan(lazyStream(1024 * 1024, 64 * 1024))).toEqual({ infected: false });
  });
});

describe('clamd verdict lines', () => {
  const failure = (reply: string) => {
    try {
      parseScanReply(reply);
    } catch (e) {
      return e;
    }
    throw new Error(`no error for ${reply}`);
  };

  it('parses OK, FOUND and errors', () => {
    expect(parseScanReply('stream: OK')).toEqual({ infected: false });
    expect(parseScanReply('stream: Win.Test.EICAR_HDB-1 FOUND')).toEqual({ infected: true, signature: 'Win.Test.EICAR_HDB-1' });
    expect(failure('INSTREAM size limit exceeded. ERROR')).toMatchObject({
      reason: 'rejected',
      message: 'clamd refused the scan: INSTREAM size limit exceeded',
    });
    expect(failure("stream: Can't allocate memory ERROR")).toMatchObject({ reason: 'rejected' });
    expect(failure('HELLO')).toMatchObject({ reason: 'protocol' });
  });
});

describe('a scanner that does not answer', () => {
  let silent: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();
  /** Resolves when the next connection the server accepts is closed (the scanner destroyed its socket). */
  const nextConnectionEnds = () =>
    new Promise<void>((resolve) => silent.once('connection', (socket: net.Socket) => socket.once('close', () => resolve())));

  beforeAll(async () => {
    port = await freePort();
    silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.resume(); // read everything, never answer
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('scan rejects with a timeout and destroys its socket', async () => {
    const ended = nextConnectionEnds();
    const s = new ClamAvScanner({ host: '127.0.0.1', port, timeoutMs: 300 });
    await expect(s.scan(Buffer.from('anything'))).rejects.toMatchObject({
      name: 'ScanError',
      reason: 'timeout',
      message: expect.stringContaining('gave no answer within 300 ms'),
    });
    await ended; // the server sees the connection end
  });

  it('a stream scan that times out releases its input', async () => {
    const ended = nextConnectionEnds();
    const s = new ClamAvScanner({ host: '127.0.0.1', port, timeoutMs: 300 });
    const input = Readable.from([Buffer.from('a'), Buffer.from('b')]);
    await expect(s.scan(input)).rejects.toMatchObject({ reason: 'timeout' });
    expect(input.destroyed).toBe(true);
    await ended;
  });

  it('ping is false on a timeout', async () => {
    const ended = nextConnectionEnds();
    const s = new ClamAvScanner({ host: '127.0.0.1', port, timeoutMs: 300 });
    expect(await s.ping()).toBe(false);
    await ended;
  });
});

describe('clamd stopped', () => {
  it('ping is false and scan rejects as unavailable', async () => {
    const own = await startClamd();
    const s = new ClamAvScanner({ host: own.host, port: own.port, timeoutMs: 5_000 });
    expect(await s.ping()).toBe(true);
    await own.stop();
    expect(await s.ping()).toBe(false);
    await expect(s.scan(Buffer.from('hello'))).rejects.toMatchObject({
      name: 'ScanError',
      reason: 'unavailable',
      message: expect.stringMatching(/clamd at 127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/),
    });
  }, 90_000);
});
