import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a local-storage URL grants: one operation on one object, until `exp`. */
export interface UrlClaims {
  op: 'put' | 'get';
  key: string;
  /** The id of what is stored (a file, a report job). */
  fileId: string;
  /** get: the user the URL was issued to; put: the uploader. */
  userId: string;
  /** Expiry, ms since the epoch. */
  exp: number;
  /** put: a one-time id (single use); get: random. */
  nonce: string;
  /** put: the declared size (an upload may not exceed it). */
  size?: number;
  /** get: the file name (Content-Disposition) and type. */
  name?: string;
  type?: string;
}

export type VerifyResult = { ok: true; claims: UrlClaims } | { ok: false; reason: 'tampered' | 'expired' };

/**
 * HMAC-SHA256 signed tokens for the storage URLs a service serves itself:
 * `base64url(claims).base64url(mac)`. Any change to the claims, including the user, breaks the mac;
 * `purpose` keeps one service's tokens from being accepted by another sharing the key.
 */
export class UrlSigner {
  constructor(
    private readonly key: string,
    private readonly purpose = 'files',
  ) {}

  sign(claims: Omit<UrlClaims, 'nonce'> & { nonce?: string }): string {
    const body = Buffer.from(JSON.stringify({ ...claims, nonce: claims.nonce ?? randomBytes(16).toString('hex') })).toString(
      'base64url',
    );
    return `${body}.${this.mac(body)}`;
  }

  verify(token: string | null | undefined, op: UrlClaims['op'], now = Date.now()): VerifyResult {
    const [body, mac, extra] = (token ?? '').split('.');
    if (!body || !mac || extra !== undefined) return { ok: false, reason: 'tampered' };
    const want = Buffer.from(this.mac(body));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, reason: 'tampered' };
    let claims: UrlClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as UrlClaims;
    } catch {
      return { ok: false, reason: 'tampered' };
    }
    if (claims.op !== op) return { ok: false, reason: 'tampered' };
    if (!(claims.exp > now)) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(`tm-${this.purpose}-url:${body}`).digest('base64url');
  }
}
