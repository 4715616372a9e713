import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose';
import type { SecretBox } from '@tm/kit/infra';
import { MFA_STEP, RESET, TOKEN_ISSUER } from './token.kinds';

export type StepKind = 'mfa' | 'reset';

const KINDS = { mfa: MFA_STEP, reset: RESET } as const;

export interface StepClaims {
  userId: string;
  tokenVersion: number;
  jti: string;
}

/**
 * Short-lived tokens that are not access tokens: the MFA-step token and the password-reset
 * token. HS256 with a key derived (HKDF) from the encryption keys, per kind, so they have another
 * algorithm, `typ`, audience and key than access tokens: the gateway refuses them, and one kind
 * never verifies as the other. The `kid` names the encryption key, so its rotation is survived.
 */
export class StepTokens {
  constructor(private readonly box: SecretBox) {}

  sign(kind: StepKind, claims: { userId: string; tokenVersion: number; jti?: string }, ttlSeconds: number): Promise<string> {
    const spec = KINDS[kind];
    const kid = this.box.activeKeyId;
    return new SignJWT({ tv: claims.tokenVersion })
      .setProtectedHeader({ alg: spec.alg, typ: spec.typ, kid })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(spec.audience)
      .setSubject(claims.userId)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .setJti(claims.jti ?? randomUUID())
      .sign(this.box.deriveKey(`jwt:${kind}`, kid));
  }

  /** The claims when the token is a valid, unexpired token of this kind; otherwise null. */
  async verify(kind: StepKind, token: string): Promise<StepClaims | null> {
    const spec = KINDS[kind];
    try {
      const { payload } = await jwtVerify(
        token,
        (header: JWTHeaderParameters) => {
          if (!header.kid || !this.box.hasKey(header.kid)) throw new Error('unknown kid');
          return this.box.deriveKey(`jwt:${kind}`, header.kid);
        },
        { issuer: TOKEN_ISSUER, audience: spec.audience, algorithms: [spec.alg], typ: spec.typ },
      );
      if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || typeof payload.tv !== 'number') return null;
      return { userId: payload.sub, tokenVersion: payload.tv, jti: payload.jti };
    } catch {
      return null;
    }
  }
}
