import { createHmac } from 'node:crypto';
import {
  bodyHash,
  correlationIdFrom,
  signContext,
  signInternal,
  verifyContext,
  verifyInternal,
} from '../src/infra/signed-context';

const SECRET = 'a'.repeat(32) + '-signing-secret';
const NOW = 1_700_000_000_000;
const ctx = { userId: 'u1', roles: ['user', 'admin'], sessionId: 's1', correlationId: 'corr-1' };
const T = { service: 'users', body: '{"query":"{ me { id } }"}' };
const bound = { aud: T.service, bh: bodyHash(T.body) };

function bodyOf(header: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(header.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('signContext / verifyContext', () => {
  it('round-trips the context', () => {
    const header = signContext(ctx, SECRET, T, NOW);
    expect(header).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    expect(verifyContext(header, SECRET, T, 60_000, NOW + 1000)).toEqual({ ...ctx, ts: NOW, ...bound });
  });

  it('round-trips an anonymous context', () => {
    const header = signContext({ userId: null, roles: [], sessionId: null, correlationId: 'c' }, SECRET, T, NOW);
    expect(verifyContext(header, SECRET, T, 60_000, NOW)).toEqual({
      userId: null,
      roles: [],
      sessionId: null,
      correlationId: 'c',
      ts: NOW,
      ...bound,
    });
  });

  it('rejects a tampered payload', () => {
    const header = signContext(ctx, SECRET, T, NOW);
    const [v, , sig] = header.split('.');
    const forged = Buffer.from(JSON.stringify({ ...bodyOf(header), roles: ['admin', 'root'] })).toString('base64url');
    expect(verifyContext(`${v}.${forged}.${sig}`, SECRET, T, 60_000, NOW)).toBeNull();
  });

  it('rejects a tampered signature', () => {
    const header = signContext(ctx, SECRET, T, NOW);
    const other = signContext({ ...ctx, userId: 'u2' }, SECRET, T, NOW);
    const [v, body] = header.split('.');
    expect(verifyContext(`${v}.${body}.${other.split('.')[2]}`, SECRET, T, 60_000, NOW)).toBeNull();
    expect(verifyContext(`${v}.${body}.`, SECRET, T, 60_000, NOW)).toBeNull();
    expect(verifyContext(`${v}.${body}.AAAA`, SECRET, T, 60_000, NOW)).toBeNull();
  });

  it('rejects a header signed with another secret', () => {
    const header = signContext(ctx, 'b'.repeat(40), T, NOW);
    expect(verifyContext(header, SECRET, T, 60_000, NOW)).toBeNull();
  });

  it('rejects a wrong version prefix', () => {
    const header = signContext(ctx, SECRET, T, NOW);
    expect(verifyContext(header.replace(/^v1\./, 'v2.'), SECRET, T, 60_000, NOW)).toBeNull();
    expect(verifyContext(header.replace(/^v1\./, 'V1.'), SECRET, T, 60_000, NOW)).toBeNull();
    expect(verifyContext(header.slice(3), SECRET, T, 60_000, NOW)).toBeNull();
  });

  it('rejects a malformed header', () => {
    expect(verifyContext(undefined, SECRET, T)).toBeNull();
    expect(verifyContext('', SECRET, T)).toBeNull();
    expect(verifyContext('v1.only-two', SECRET, T)).toBeNull();
    expect(verifyContext(`${signContext(ctx, SECRET, T, NOW)}.extra`, SECRET, T, 60_000, NOW)).toBeNull();
  });

  it('rejects a stale or future timestamp and accepts one within maxAge', () => {
    const header = signContext(ctx, SECRET, T, NOW);
    expect(verifyContext(header, SECRET, T, 60_000, NOW + 60_000)).not.toBeNull();
    expect(verifyContext(header, SECRET, T, 60_000, NOW + 60_001)).toBeNull();
    expect(verifyContext(header, SECRET, T, 60_000, NOW - 60_001)).toBeNull();
    expect(verifyContext(header, SECRET, T, 5_000, NOW + 10_000)).toBeNull();
  });

  it('is bound to the target service and the exact body', () => {
    const header = signContext(ctx, SECRET, T, NOW);
    expect(verifyContext(header, SECRET, T, 15_000, NOW)).not.toBeNull();
    expect(verifyContext(header, SECRET, { ...T, service: 'projects' }, 15_000, NOW)).toBeNull();
    expect(verifyContext(header, SECRET, { ...T, body: '{"query":"mutation { lockUsers }"}' }, 15_000, NOW)).toBeNull();
    expect(verifyContext(header, SECRET, { ...T, body: `${T.body} ` }, 15_000, NOW)).toBeNull();
  });

  it('defaults to a 15 s window', () => {
    const header = signContext(ctx, SECRET, T, NOW);
    expect(verifyContext(header, SECRET, T, undefined, NOW + 15_000)).not.toBeNull();
    expect(verifyContext(header, SECRET, T, undefined, NOW + 15_001)).toBeNull();
  });

  it('refuses a correctly signed payload of the old, unbound format', () => {
    const body = Buffer.from(JSON.stringify({ ...ctx, ts: NOW })).toString('base64url');
    const sig = createHmac('sha256', SECRET).update(`v1.${body}`).digest('base64url');
    expect(verifyContext(`v1.${body}.${sig}`, SECRET, T, 60_000, NOW)).toBeNull();
  });

  it('rejects an oversize header even when correctly signed', () => {
    const roles = Array.from({ length: 1000 }, (_, i) => `role-${i}`);
    const header = signContext({ ...ctx, roles }, SECRET, T, NOW);
    expect(header.length).toBeGreaterThan(8192);
    expect(verifyContext(header, SECRET, T, 60_000, NOW)).toBeNull();
  });

  it('rejects a correctly signed payload whose roles are not an array', () => {
    const header = signContext({ ...ctx, roles: 'admin' as unknown as string[] }, SECRET, T, NOW);
    expect(bodyOf(header).roles).toBe('admin');
    expect(verifyContext(header, SECRET, T, 60_000, NOW)).toBeNull();
  });

  it('rejects a correctly signed payload without a numeric ts', () => {
    const body = Buffer.from(JSON.stringify({ ...ctx, ts: String(NOW) })).toString('base64url');
    const sig = createHmac('sha256', SECRET).update(`v1.${body}`).digest('base64url');
    expect(verifyContext(`v1.${body}.${sig}`, SECRET, T, 60_000, NOW)).toBeNull();
  });

  it('rejects a correctly signed payload that is not JSON', () => {
    const body = Buffer.from('not json').toString('base64url');
    const sig = createHmac('sha256', SECRET).update(`v1.${body}`).digest('base64url');
    expect(verifyContext(`v1.${body}.${sig}`, SECRET, T, 60_000, NOW)).toBeNull();
  });
});

describe('signInternal / verifyInternal', () => {
  const path = '/internal/permissions?userId=u1';
  it('is bound to the service, path and query, briefly', () => {
    const h = signInternal('projects', path, SECRET, NOW);
    expect(verifyInternal(h, 'projects', path, SECRET, 15_000, NOW + 1000)).toBe(true);
    expect(verifyInternal(h, 'users', path, SECRET, 15_000, NOW)).toBe(false);
    expect(verifyInternal(h, 'projects', '/internal/permissions?userId=u2', SECRET, 15_000, NOW)).toBe(false);
    expect(verifyInternal(h, 'projects', path, SECRET, undefined, NOW + 15_001)).toBe(false);
    expect(verifyInternal(h, 'projects', path, 'c'.repeat(40), 15_000, NOW)).toBe(false);
  });
});

describe('correlationIdFrom', () => {
  const make = () => 'generated';

  it.each(['abc', 'req-123_x.y:z', 'A1', '0f8fad5b-d9cb-469f-a165-70867728950e', 'x'.repeat(100)])('accepts %s', (id) => {
    expect(correlationIdFrom(id, make)).toBe(id);
  });

  it.each([
    ['with a space', 'has space'],
    ['with a newline', 'abc\ndef'],
    ['too long', 'x'.repeat(101)],
    ['empty', ''],
    ['with odd characters', 'abc/def'],
    ['with injection', '"><script>'],
  ])('replaces an id %s', (_label, id) => {
    expect(correlationIdFrom(id, make)).toBe('generated');
  });

  it('replaces a missing id', () => {
    expect(correlationIdFrom(undefined, make)).toBe('generated');
    expect(correlationIdFrom([], make)).toBe('generated');
  });

  it('takes the first value of an array', () => {
    expect(correlationIdFrom(['first', 'second'], make)).toBe('first');
    expect(correlationIdFrom(['bad one', 'second'], make)).toBe('generated');
  });

  it('calls make only when it needs a new id', () => {
    const spy = jest.fn(() => 'new-id');
    expect(correlationIdFrom('ok-id', spy)).toBe('ok-id');
    expect(spy).not.toHaveBeenCalled();
    expect(correlationIdFrom('bad id', spy)).toBe('new-id');
    expect(spy).toHaveBeenCalledTimes(1);
  });
});
