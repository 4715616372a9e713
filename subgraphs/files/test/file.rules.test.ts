import { contentMismatch, DEFAULT_ALLOWED_TYPES, fileRules } from '../src/file/file.rules';
import { contentDisposition, parseRange, UrlSigner } from '@tm/kit/storage';
import { EicarScanner, EICAR } from '../src/scan/eicar.scanner';
import { Readable } from 'node:stream';

describe('file rules', () => {
  it('accepts file names and refuses paths and tricks', () => {
    expect(fileRules.name('  Report Q3 (final).pdf ')).toBe('Report Q3 (final).pdf');
    expect(fileRules.name('.env')).toBe('.env');
    expect(fileRules.name('a..b.txt')).toBe('a..b.txt');
    for (const bad of ['', '   ', '../x', '..', '.', 'a/b', 'a\\b', 'c:x', 'x\u0007y', 'evil\u202Efdp.exe', 'x'.repeat(256)]) {
      expect(() => fileRules.name(bad)).toThrow(expect.objectContaining({ code: 'FILE-001', details: { field: 'name' } }));
    }
  });

  it('checks sizes and types', () => {
    expect(fileRules.size(1, 10)).toBe(1);
    for (const bad of [0, -1, 1.5, 11, Number.NaN])
      expect(() => fileRules.size(bad, 10)).toThrow(expect.objectContaining({ code: 'FILE-001' }));
    expect(fileRules.contentType('Image/PNG; charset=x', DEFAULT_ALLOWED_TYPES)).toBe('image/png');
    expect(() => fileRules.contentType('text/html', DEFAULT_ALLOWED_TYPES)).toThrow(
      expect.objectContaining({ code: 'FILE-001', details: { field: 'contentType' } }),
    );
  });

  it('compares sniffed content with the declared type', () => {
    expect(contentMismatch('image/png', 'image/png', Buffer.alloc(1))).toBeNull();
    expect(contentMismatch('image/png', undefined, Buffer.from('text'))).toBe('the content is not image/png');
    expect(contentMismatch('image/png', 'image/jpeg', Buffer.alloc(1))).toBe('the content is image/jpeg, not image/png');
    expect(contentMismatch('text/plain', undefined, Buffer.from('hello'))).toBeNull();
    expect(contentMismatch('text/plain', 'application/pdf', Buffer.from('%PDF'))).toBe(
      'the content is application/pdf, not text/plain',
    );
    expect(contentMismatch('text/csv', undefined, Buffer.from([0x61, 0, 0x62]))).toBe('the content is binary, not text/csv');
    const docx = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
    expect(contentMismatch(docx, 'application/zip', Buffer.alloc(1))).toBeNull();
  });
});

describe('download details', () => {
  it('parses single byte ranges', () => {
    expect(parseRange(undefined, 10)).toBeNull();
    expect(parseRange('bytes=0-4', 10)).toEqual({ start: 0, end: 4 });
    expect(parseRange('bytes=5-', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=8-100', 10)).toEqual({ start: 8, end: 9 });
    for (const bad of ['bytes=10-', 'bytes=5-2', 'bytes=-', 'items=0-1', 'bytes=0-1,3-4'])
      expect(parseRange(bad, 10)).toBe('bad');
  });

  it('quotes any file name safely in Content-Disposition', () => {
    expect(contentDisposition('a.txt')).toBe(`attachment; filename="a.txt"; filename*=UTF-8''a.txt`);
    expect(contentDisposition('"x"\r\n.txt')).toBe(`attachment; filename="_x___.txt"; filename*=UTF-8''%22x%22%0D%0A.txt`);
  });
});

describe('signed URLs', () => {
  const signer = new UrlSigner('k'.repeat(64));
  const claims = { op: 'get' as const, key: 'files/a/b', fileId: 'b', userId: 'u', exp: Date.now() + 60_000 };

  it('verifies its own tokens and refuses changed, foreign, expired or mistyped ones', () => {
    const token = signer.sign(claims);
    expect(signer.verify(token, 'get')).toMatchObject({ ok: true, claims });
    expect(signer.verify(token, 'put')).toEqual({ ok: false, reason: 'tampered' });
    expect(new UrlSigner('j'.repeat(64)).verify(token, 'get')).toEqual({ ok: false, reason: 'tampered' });
    const [body, mac] = token.split('.');
    const changed = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), userId: 'v' }),
    ).toString('base64url');
    expect(signer.verify(`${changed}.${mac}`, 'get')).toEqual({ ok: false, reason: 'tampered' });
    expect(signer.verify(signer.sign({ ...claims, exp: Date.now() - 1 }), 'get')).toEqual({ ok: false, reason: 'expired' });
    for (const junk of [null, '', 'a', 'a.b.c', `${body}.`])
      expect(signer.verify(junk, 'get')).toEqual({ ok: false, reason: 'tampered' });
  });
});

describe('built-in scanner', () => {
  it('finds EICAR in buffers and in streams, also across chunk boundaries', async () => {
    const s = new EicarScanner();
    expect(await s.scan(Buffer.from(`prefix ${EICAR} suffix`))).toEqual({ infected: true, signature: 'Eicar-Test-Signature' });
    expect(await s.scan(Buffer.from('clean'))).toEqual({ infected: false });
    const split = Buffer.from(`${'x'.repeat(100)}${EICAR}`);
    const chunks = [split.subarray(0, 120), split.subarray(120, 140), split.subarray(140)];
    expect((await s.scan(Readable.from(chunks))).infected).toBe(true);
    expect((await s.scan(Readable.from([Buffer.alloc(70_000, 'a'), Buffer.alloc(10, 'b')]))).infected).toBe(false);
    expect(await s.ping()).toBe(true);
  });
});
