import { parseCsv } from './helpers';
import { csvField, csvLine } from '../src/report/report-rows';
import { DownloadSigner } from '../src/report/report-storage';

/** Pure parts of reports: CSV quoting (RFC 4180, formula cells defused) and signed download URLs. */
describe('CSV rows', () => {
  it('quotes what needs it and round-trips through a CSV parser', () => {
    const row = { a: 'plain', b: 'comma, inside', c: 'quote " inside', d: 'line\nbreak', e: 42, f: null };
    const line = csvLine(['a', 'b', 'c', 'd', 'e', 'f'], row);
    expect(line.endsWith('\r\n')).toBe(true);
    expect(parseCsv(line)).toEqual([['plain', 'comma, inside', 'quote " inside', 'line\nbreak', '42', '']]);
  });

  it('defuses cells a spreadsheet would run as formulas (numbers stay numbers)', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    for (const s of ['+1', '-2', '@SUM(A1)', '\tx']) expect(csvField(s).replace(/^"|"$/g, '').startsWith("'")).toBe(true);
    expect(csvField(-2.5)).toBe('-2.5');
  });
});

describe('download URLs', () => {
  const signer = new DownloadSigner('k'.repeat(32));

  it('verifies its own tokens until they expire; refuses tampered ones and other keys', () => {
    const now = Date.now();
    const token = signer.sign({ jobId: 'j1', userId: 'u1', exp: now + 1000 });
    expect(signer.verify(token, now)).toEqual({ ok: true, claims: { jobId: 'j1', userId: 'u1', exp: now + 1000 } });
    expect(signer.verify(token, now + 1000)).toEqual({ ok: false, reason: 'expired' });
    const [body, mac] = token.split('.');
    const other = Buffer.from(JSON.stringify({ jobId: 'j2', userId: 'u1', exp: now + 1000 })).toString('base64url');
    expect(signer.verify(`${other}.${mac}`, now)).toEqual({ ok: false, reason: 'tampered' });
    expect(signer.verify(`${body}.${mac}x`, now)).toEqual({ ok: false, reason: 'tampered' });
    expect(new DownloadSigner('o'.repeat(32)).verify(token, now)).toEqual({ ok: false, reason: 'tampered' });
    expect(signer.verify(null, now)).toEqual({ ok: false, reason: 'tampered' });
  });
});
