import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';

/** Format tag of sealed values; bump it if the layout below ever changes. */
const VERSION = 'v1';
const KID_RE = /^[A-Za-z0-9_-]{1,32}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface EncryptionKey {
  kid: string;
  key: Buffer;
}

/**
 * Parses `ENCRYPTION_KEYS`: comma-separated `kid:base64key` (32-byte keys), the first one active.
 * Throws with a message that names the problem, never a key.
 */
export function parseEncryptionKeys(value: string): EncryptionKey[] {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('needs at least one key: kid:base64key[,kid:base64key…]');
  const seen = new Set<string>();
  return entries.map((entry, i) => {
    const sep = entry.indexOf(':');
    const kid = sep > 0 ? entry.slice(0, sep) : '';
    if (!KID_RE.test(kid)) throw new Error(`entry ${i + 1}: key id must be 1-32 letters, digits, _ or -, followed by ":"`);
    if (seen.has(kid)) throw new Error(`entry ${i + 1}: key id ${kid} appears twice`);
    seen.add(kid);
    const key = Buffer.from(entry.slice(sep + 1), 'base64');
    if (key.length !== 32)
      throw new Error(`entry ${i + 1} (${kid}): key must be 32 bytes, base64-encoded (openssl rand -base64 32)`);
    return { kid, key };
  });
}

/** Config field for services that keep secrets at rest: required, no default. */
export const encryptionKeysSchema = z
  .string({ message: 'required: comma-separated kid:base64key (32-byte AES keys), first is active' })
  .superRefine((v, ctx) => {
    try {
      parseEncryptionKeys(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

/** A freshly made `ENCRYPTION_KEYS` value (one key), for development stacks and tests. */
export function generateEncryptionKeys(kid = `k${Date.now().toString(36)}`): string {
  return `${kid}:${randomBytes(32).toString('base64')}`;
}

/**
 * Secrets at rest (AES-256-GCM). A sealed value is one string,
 * `v1:<kid>:<iv>:<tag>:<ciphertext>` (base64url parts): the key id travels with the data, so
 * keys can rotate (new values use the first key; older ones stay readable while their key is
 * configured). An optional `aad` binds a value to where it belongs (e.g. `users.mfaSecret:<id>`),
 * so a sealed value copied into another record does not open.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  readonly activeKeyId: string;

  constructor(keys: EncryptionKey[] | string) {
    const list = typeof keys === 'string' ? parseEncryptionKeys(keys) : keys;
    if (list.length === 0) throw new Error('SecretBox needs at least one key');
    this.keys = new Map(list.map((k) => [k.kid, k.key]));
    this.activeKeyId = list[0]!.kid;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  encrypt(plaintext: string, aad?: string, kid = this.activeKeyId): string {
    const key = this.keyFor(kid);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    if (aad) cipher.setAAD(Buffer.from(aad, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, kid, iv.toString('base64url'), tag.toString('base64url'), data.toString('base64url')].join(':');
  }

  /** The plaintext; throws when the value is malformed, its key is not configured, or it was tampered with. */
  decrypt(sealed: string, aad?: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new Error('not a sealed value');
    const [, kid, iv, tag, data] = parts as [string, string, string, string, string];
    const decipher = createDecipheriv('aes-256-gcm', this.keyFor(kid), Buffer.from(iv, 'base64url'));
    const tagBytes = Buffer.from(tag, 'base64url');
    if (tagBytes.length !== TAG_BYTES) throw new Error('not a sealed value');
    decipher.setAuthTag(tagBytes);
    if (aad) decipher.setAAD(Buffer.from(aad, 'utf8'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** The key id a sealed value was made with, or null when it is not one. */
  static keyIdOf(sealed: string): string | null {
    const parts = sealed.split(':');
    return parts.length === 5 && parts[0] === VERSION && KID_RE.test(parts[1]!) ? parts[1]! : null;
  }

  /** True when the value was sealed with another key than the active one (re-seal it on the next write). */
  isStale(sealed: string): boolean {
    return SecretBox.keyIdOf(sealed) !== this.activeKeyId;
  }

  /**
   * A 32-byte key for another purpose (e.g. MACs of short-lived tokens), derived with HKDF from
   * the encryption key `kid`, so one configured secret serves both without reuse.
   */
  deriveKey(purpose: string, kid = this.activeKeyId): Uint8Array {
    return new Uint8Array(hkdfSync('sha256', this.keyFor(kid), Buffer.alloc(0), `tm:${purpose}`, 32));
  }

  hasKey(kid: string): boolean {
    return this.keys.has(kid);
  }

  /** Seals and opens a probe with every configured key: true when all round-trip. */
  selfTest(): boolean {
    try {
      return this.keyIds.every((kid) => {
        const probe = randomBytes(16).toString('hex');
        return this.decrypt(this.encrypt(probe, 'self-test', kid), 'self-test') === probe;
      });
    } catch {
      return false;
    }
  }

  private keyFor(kid: string): Buffer {
    const key = this.keys.get(kid);
    if (!key) throw new Error(`encryption key ${kid} is not configured`);
    return key;
  }
}
