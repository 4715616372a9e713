import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type KeyLike } from 'jose';
import { AppError, ErrorCode } from '@tm/kit';
import { SigningKey, SigningKeyModel } from './signing-key.model';

export const ACCESS_TOKEN_ALG = 'ES256';
export const TOKEN_ISSUER = 'tm-users';
export const TOKEN_AUDIENCE = 'tm-api';
/** JOSE `typ` of access tokens (RFC 9068), so no other token can stand in for one. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

export interface AccessClaims {
  userId: string;
  roles: string[];
  sessionId: string;
  tokenVersion: number;
}

interface LoadedKey {
  kid: string;
  privateKey: KeyLike | Uint8Array;
  publicJwk: JWK;
  createdAt: Date;
}

/**
 * The signing keys: creates the first one when none exists (one process wins the race through
 * the fixed `_id`), signs access tokens with the newest, publishes all public halves as a JWKS.
 */
export class KeyRing {
  private keys: LoadedKey[] = [];
  private loadedAt = 0;

  constructor(private readonly accessTtlSeconds: number) {}

  async ensureKey(): Promise<void> {
    if ((await SigningKeyModel.countDocuments()) === 0) {
      const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
      try {
        await SigningKeyModel.create({
          _id: 'initial',
          alg: ACCESS_TOKEN_ALG,
          publicJwk: JSON.stringify(await exportJWK(publicKey)),
          privateJwk: JSON.stringify(await exportJWK(privateKey)),
        });
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err; // another process made it first
      }
    }
    await this.reload();
  }

  private async reload(): Promise<void> {
    const docs = await SigningKeyModel.find().sort({ createdAt: -1 }).lean<SigningKey[]>();
    this.keys = await Promise.all(
      docs.map(async (d) => ({
        kid: d._id,
        privateKey: await importJWK(JSON.parse(d.privateJwk) as JWK, d.alg),
        publicJwk: { ...(JSON.parse(d.publicJwk) as JWK), kid: d._id, alg: d.alg, use: 'sig' },
        createdAt: d.createdAt,
      })),
    );
    this.loadedAt = Date.now();
  }

  private async current(): Promise<LoadedKey> {
    if (this.keys.length === 0 || Date.now() - this.loadedAt > 60_000) await this.ensureKey();
    const key = this.keys[0];
    if (!key) throw new AppError(ErrorCode.ServiceUnavailable, 'Signing keys unavailable');
    return key;
  }

  async signAccessToken(claims: AccessClaims): Promise<{ token: string; expiresAt: Date }> {
    const key = await this.current();
    const now = Math.floor(Date.now() / 1000);
    const exp = now + this.accessTtlSeconds;
    const token = await new SignJWT({ roles: claims.roles, sid: claims.sessionId, tv: claims.tokenVersion })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid, typ: ACCESS_TOKEN_TYP })
      .setSubject(claims.userId)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(key.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    if (this.keys.length === 0 || Date.now() - this.loadedAt > 10_000) await this.reload();
    return { keys: this.keys.map((k) => k.publicJwk) };
  }
}
