import { createLogger, piiPatternProblem, scrub, setExtraPiiPatterns } from '../src/infra/logger';
import { runInScope } from '../src/infra/request-scope';

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MSIsImlhdCI6MTcwMDAwMDAwMH0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const EMAIL = 'alice.smith+tm@example.com';
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG';

function capture(level = 'trace') {
  const lines: string[] = [];
  const log = createLogger('test-svc', level, { write: (s: string) => void lines.push(s) });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed log lines are probed freely
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, any>);
  return { log, lines, records };
}

afterEach(() => setExtraPiiPatterns([]));

describe('createLogger', () => {
  it('writes JSON lines with the service, level, time and message', () => {
    const { log, records } = capture();
    log.info({ a: 1 }, 'hello');
    const [r] = records();
    expect(r).toMatchObject({ service: 'test-svc', msg: 'hello', a: 1, level: 30 });
    expect(typeof r!.time).toBe('string');
  });

  it('respects the level', () => {
    const { log, lines } = capture('warn');
    log.info('hidden');
    log.warn('shown');
    expect(lines).toHaveLength(1);
    const silent = capture('silent');
    silent.log.error('nothing');
    expect(silent.lines).toHaveLength(0);
  });

  it('redacts secret fields by name, top level and nested', () => {
    const { log, lines, records } = capture();
    log.info(
      {
        password: 'hunter2-plain',
        refreshToken: 'opaque-refresh-value',
        authorization: 'Bearer opaque-auth-value',
        email: 'not-an-address-value',
        input: { password: 'nested-pass-value', title: 'keep me' },
        variables: { input: { password: 'var-pass-value' } },
        req: { headers: { authorization: 'Basic hdr-value', 'x-tm-context': 'v1.ctx-value.sig' } },
      },
      'login',
    );
    const r = records()[0]!;
    expect(r.password).toBe('[redacted]');
    expect(r.refreshToken).toBe('[redacted]');
    expect(r.authorization).toBe('[redacted]');
    expect(r.email).toBe('[redacted]');
    expect(r.input.password).toBe('[redacted]');
    expect(r.input.title).toBe('keep me');
    expect(r.variables.input.password).toBe('[redacted]');
    expect(r.req.headers.authorization).toBe('[redacted]');
    expect(r.req.headers['x-tm-context']).toBe('[redacted]');
    for (const v of [
      'hunter2-plain',
      'opaque-refresh-value',
      'opaque-auth-value',
      'not-an-address-value',
      'nested-pass-value',
      'var-pass-value',
      'hdr-value',
      'ctx-value',
    ]) {
      expect(lines[0]).not.toContain(v);
    }
  });

  it('redacts a JWT, an email and an argon2 hash inside the message', () => {
    const { log, lines, records } = capture();
    log.info(`token ${JWT} for ${EMAIL} hash ${HASH} done`);
    const r = records()[0]!;
    expect(r.msg).toBe('token [redacted] for [redacted] hash [redacted] done');
    expect(lines[0]).not.toContain('eyJhbGci');
    expect(lines[0]).not.toContain('example.com');
    expect(lines[0]).not.toContain('argon2');
  });

  it('redacts them inside printf-style arguments', () => {
    const { log, lines } = capture();
    log.info('user %s token %s', EMAIL, JWT);
    expect(lines[0]).not.toContain('example.com');
    expect(lines[0]).not.toContain('eyJhbGci');
  });

  it('redacts them inside nested values, arrays and errors', () => {
    const { log, lines, records } = capture();
    const err = new Error(`lookup failed for ${EMAIL}`);
    log.error(
      {
        note: `sent to ${EMAIL}`,
        deep: { list: [`Bearer ${JWT}`, { stored: HASH }], fine: 'plain text' },
        err,
      },
      'failure',
    );
    const r = records()[0]!;
    expect(r.note).toBe('sent to [redacted]');
    expect(r.deep.list[0]).toBe('Bearer [redacted]');
    expect(r.deep.list[1].stored).toBe('[redacted]');
    expect(r.deep.fine).toBe('plain text');
    expect(JSON.stringify(r.err)).toContain('lookup failed for [redacted]');
    expect(lines[0]).not.toContain('example.com');
    expect(lines[0]).not.toContain('eyJhbGci');
    expect(lines[0]).not.toContain('argon2');
  });

  it('applies extra PII patterns once set, and stops when reset', () => {
    const { log, lines } = capture();
    log.info('ssn 123-45-6789 before');
    setExtraPiiPatterns(['\\b\\d{3}-\\d{2}-\\d{4}\\b']);
    log.info('ssn 123-45-6789 after');
    log.info({ profile: { ssn: '987-65-4321' } }, 'nested');
    setExtraPiiPatterns([]);
    log.info('ssn 123-45-6789 reset');
    expect(lines[0]).toContain('123-45-6789');
    expect(lines[1]).not.toContain('123-45-6789');
    expect(JSON.parse(lines[1]!).msg).toBe('ssn [redacted] after');
    expect(lines[2]).not.toContain('987-65-4321');
    expect(lines[3]).toContain('123-45-6789');
  });

  it('adds correlationId and userId inside a request scope', () => {
    const { log, records } = capture();
    log.info('outside');
    runInScope({ correlationId: 'c1', userId: 'u1' }, () => {
      log.info('first');
      log.warn({ x: 1 }, 'second');
      log.child({ component: 'child' }).info('third');
    });
    runInScope({ correlationId: 'c2', userId: null }, () => log.info('anonymous'));
    const rs = records();
    expect(rs[0]!.correlationId).toBeUndefined();
    expect(rs[0]!.userId).toBeUndefined();
    for (const r of rs.slice(1, 4)) {
      expect(r.correlationId).toBe('c1');
      expect(r.userId).toBe('u1');
    }
    expect(rs[3]!.component).toBe('child');
    expect(rs[4]!.correlationId).toBe('c2');
    expect(rs[4]!.userId).toBeUndefined();
  });

  it('carries the scope across awaits', async () => {
    const { log, records } = capture();
    await runInScope({ correlationId: 'c3', userId: 'u3' }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      log.info('later');
    });
    expect(records()[0]).toMatchObject({ correlationId: 'c3', userId: 'u3' });
  });
});

describe('scrub', () => {
  it('leaves ordinary text alone', () => {
    expect(scrub('task 42 moved to done')).toBe('task 42 moved to done');
  });

  it('replaces every occurrence', () => {
    expect(scrub(`${EMAIL} and bob@example.org`)).toBe('[redacted] and [redacted]');
  });
});

describe('piiPatternProblem (extra redaction patterns run on every log line: linear-time only)', () => {
  it.each(['ACME\\d{6}', '\\b\\d{3}-\\d{2}-\\d{4}\\b', '(?:tok|key)_[A-Za-z0-9]+', '[\\w.+-]+@corp\\.example', '(?:\\d{4}-)?x'])(
    'accepts %s',
    (p) => {
      expect(piiPatternProblem(p)).toBeNull();
    },
  );

  it.each([
    ['(a+)+$', /nested quantifiers/],
    ['(a|aa)*b', /nested quantifiers/],
    ['(\\w+\\s?)*$', /nested quantifiers/],
    ['(?:x(?:y+))+', /nested quantifiers/],
    ['(x)\\1', /backreferences/],
    ['(?<q>x)\\k<q>', /backreferences/],
    ['(?=a)\\w+', /lookarounds/],
    ['(?<!a)b', /lookarounds/],
    ['(unclosed', /not a valid/],
    ['.*', /empty string/],
    ['', /1–200/],
  ])('refuses %s', (p, why) => {
    expect(piiPatternProblem(p)).toMatch(why);
  });

  it('ignores unsafe patterns that reach the settings another way', () => {
    expect(setExtraPiiPatterns(['(a+)+$', 'SAFE\\d{4}'])).toBe(1);
    expect(scrub('(a+)+ aaaa SAFE1234')).toBe('(a+)+ aaaa [redacted]');
  });
});
