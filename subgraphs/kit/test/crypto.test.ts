import { randomBytes } from 'node:crypto';
import { encryptionKeysSchema, generateEncryptionKeys, parseEncryptionKeys, SecretBox } from '../src/infra/crypto';
import { createLogger } from '../src/infra/logger';

const key = () => randomBytes(32).toString('base64');

describe('SecretBox (AES-256-GCM, key id stored with the data)', () => {
  const keys = `new:${key()},old:${key()}`;
  const box = new SecretBox(keys);

  it('seals with the first (active) key and opens what it sealed', () => {
    const sealed = box.encrypt('JBSWY3DPEHPK3PXP');
    expect(sealed).toMatch(/^v1:new:[\w-]{16}:[\w-]{22}:[\w-]+$/);
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.decrypt(sealed)).toBe('JBSWY3DPEHPK3PXP');
    expect(SecretBox.keyIdOf(sealed)).toBe('new');
    expect(box.encrypt('same')).not.toBe(box.encrypt('same')); // fresh IV every time
  });

  it('opens values sealed with an older key while that key is configured', () => {
    const sealed = box.encrypt('secret', undefined, 'old');
    expect(box.isStale(sealed)).toBe(true);
    expect(box.decrypt(sealed)).toBe('secret');
    const onlyNew = new SecretBox(keys.split(',')[0]!);
    expect(() => onlyNew.decrypt(sealed)).toThrow(/not configured/);
  });

  it('refuses tampered data and values bound to another record', () => {
    const sealed = box.encrypt('secret', 'users.mfaSecret:a');
    expect(() => box.decrypt(sealed, 'users.mfaSecret:b')).toThrow();
    const parts = sealed.split(':');
    const data = Buffer.from(parts[4]!, 'base64url');
    data[0] = data[0]! ^ 1;
    parts[4] = data.toString('base64url');
    expect(() => box.decrypt(parts.join(':'), 'users.mfaSecret:a')).toThrow();
    expect(() => box.decrypt('{"kty":"EC"}')).toThrow(/not a sealed value/);
  });

  it('passes its self-test and derives distinct keys per purpose', () => {
    expect(box.selfTest()).toBe(true);
    expect(Buffer.from(box.deriveKey('a')).equals(Buffer.from(box.deriveKey('b')))).toBe(false);
    expect(box.deriveKey('a')).toHaveLength(32);
  });

  it('validates ENCRYPTION_KEYS with messages that never contain a key', () => {
    const short = randomBytes(16).toString('base64');
    for (const bad of ['', 'nokid', `:${key()}`, `a b:${key()}`, `k1:${short}`, `k1:${key()},k1:${key()}`]) {
      const r = encryptionKeysSchema.safeParse(bad);
      expect({ bad, ok: r.success }).toEqual({ bad, ok: false });
      if (!r.success) expect(r.error.issues[0]!.message).not.toContain(short);
    }
    expect(encryptionKeysSchema.safeParse(undefined).success).toBe(false);
    expect(encryptionKeysSchema.safeParse(generateEncryptionKeys()).success).toBe(true);
    expect(parseEncryptionKeys(keys).map((k) => k.kid)).toEqual(['new', 'old']);
  });

  it('sealed values and otpauth URLs are redacted from log lines', () => {
    const lines: string[] = [];
    const log = createLogger('t', 'info', { write: (s: string) => void lines.push(s) });
    const sealed = box.encrypt('x');
    log.info({ note: `value ${sealed}`, url: 'otpauth://totp/TM:a?secret=JBSWY3DPEHPK3PXP' }, 'msg');
    expect(lines.join('')).not.toContain(sealed);
    expect(lines.join('')).not.toContain('JBSWY3DPEHPK3PXP');
  });
});
