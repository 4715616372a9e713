import { parseCsv } from './helpers';
import { csvField, csvLine } from '../src/report/report.rows';
import { UrlSigner } from '@tm/kit/storage';

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
  it('are the storage URLs of the kit, signed for reports: a token of another purpose with the same key is refused', () => {
    const key = 'k'.repeat(32);
    const reports = new UrlSigner(key, 'reports');
    const claims = { op: 'get' as const, key: 'reports/x.csv', fileId: 'j1', userId: 'u1', exp: Date.now() + 1000 };
    expect(reports.verify(reports.sign(claims), 'get')).toMatchObject({ ok: true, claims });
    expect(reports.verify(new UrlSigner(key, 'files').sign(claims), 'get')).toEqual({ ok: false, reason: 'tampered' });
    expect(reports.verify(reports.sign({ ...claims, exp: Date.now() - 1 }), 'get')).toEqual({ ok: false, reason: 'expired' });
  });
});
