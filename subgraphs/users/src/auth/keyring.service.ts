import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type KeyLike } from 'jose';
import { AppError, ErrorCode } from '@tm/kit/contracts';
import { type Logger, type SecretBox } from '@tm/kit/infra';
import { SigningKey, SigningKeyModel } from './signing-key.model';
import { ACCESS, TOKEN_ISSUER } from './token.kinds';

export const ACCESS_TOKEN_ALG = ACCESS.alg;
export { TOKEN_ISSUER };
export const TOKEN_AUDIENCE = ACCESS.audience;
/** JOSE `typ` of access tokens (RFC 9068), so no other token can stand in for one. */
export const ACCESS_TOKEN_TYP = ACCESS.typ;

/** The gateway's clock tolerance plus a little: how long past `exp` a token may still be accepted. */
const CLOCK_MARGIN_MS = 10_000;
/** The JWKS is served from a copy at most this old (the gateway refetches it for an unknown kid). */
const JWKS_MAX_STALENESS_MS = 2_000;

export interface AccessClaims {
  userId: string;
  roles: string[];
  sessionId: string;
  tokenVersion: number;
}

interface LoadedKey {
  kid: string;
  /** null when its private half cannot be opened (its encryption key is not configured). */
  privateKey: KeyLike | Uint8Array | null;
  publicJwk: JWK;
  createdAt: Date;
}

const aadOf = (kid: string) => `users.signingKey:${kid}`;

/**
 * The signing keys: creates the first one when none exists (one process wins the race through
 * the fixed `_id`), signs access tokens with the newest, publishes all public halves as a JWKS.
 *
 * Rotation adds a key that signs from then on. A superseded key stays published until every token
 * it may have signed has expired: the next key's `createdAt` + access-token TTL + the reload
 * interval (other processes keep signing with it until they reload) + a clock margin. Then any
 * process's next reload deletes it. Private halves are stored sealed (AES-256-GCM).
 */
export class KeyRing {
  private keys: LoadedKey[] = [];
  private loadedAt = 0;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly box: SecretBox,
    private readonly accessTtlSeconds: number,
    private readonly reloadSeconds: number,
    private readonly log: Logger,
  ) {}

  /** How long a superseded key stays published after its successor was created. */
  get retentionMs(): number {
    return this.accessTtlSeconds * 1000 + this.reloadSeconds * 1000 + CLOCK_MARGIN_MS;
  }

  async ensureKey(): Promise<void> {
    if ((await SigningKeyModel.countDocuments()) === 0) {
      try {
        await this.createKey('initial');
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err; // another process made it first
      }
    }
    await this.reload();
  }

  /** Adds a new signing key; this process signs with it at once, the others after their next reload. */
  async rotate(): Promise<string> {
    const kid = randomUUID();
    await this.createKey(kid);
    await this.reload();
    this.log.info({ kid }, 'signing key rotated');
    return kid;
  }

  private async createKey(kid: string): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
    await SigningKeyModel.create({
      _id: kid,
      alg: ACCESS_TOKEN_ALG,
      publicJwk: JSON.stringify(await exportJWK(publicKey)),
      privateJwk: this.box.encrypt(JSON.stringify(await exportJWK(privateKey)), aadOf(kid)),
    });
  }

  private reload(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const docs = await SigningKeyModel.find().sort({ createdAt: -1 }).lean<SigningKey[]>();
    const now = Date.now();
    const live: SigningKey[] = [];
    for (const [i, d] of docs.entries()) {
      const successor = i > 0 ? docs[i - 1]! : null;
      if (successor && successor.createdAt.getTime() + this.retentionMs < now) {
        await SigningKeyModel.deleteOne({ _id: d._id });
        this.log.info({ kid: d._id }, 'expired signing key dropped');
        continue;
      }
      live.push(d);
    }
    this.keys = await Promise.all(live.map((d) => this.open(d)));
    this.loadedAt = Date.now();
  }

  private async open(d: SigningKey): Promise<LoadedKey> {
    let privateKey: KeyLike | Uint8Array | null = null;
    try {
      let json: string;
      if (d.privateJwk.startsWith('{')) {
        // stored before keys were sealed: seal it now
        json = d.privateJwk;
        await SigningKeyModel.updateOne(
          { _id: d._id, privateJwk: d.privateJwk },
          { $set: { privateJwk: this.box.encrypt(json, aadOf(d._id)) } },
        );
      } else {
        json = this.box.decrypt(d.privateJwk, aadOf(d._id));
        if (this.box.isStale(d.privateJwk)) {
          await SigningKeyModel.updateOne(
            { _id: d._id, privateJwk: d.privateJwk },
            { $set: { privateJwk: this.box.encrypt(json, aadOf(d._id)) } },
          );
        }
      }
      privateKey = await importJWK(JSON.parse(json) as JWK, d.alg);
    } catch (err) {
      this.log.error({ kid: d._id, err: (err as Error).message }, 'cannot open signing key (is its encryption key configured?)');
    }
    return {
      kid: d._id,
      privateKey,
      publicJwk: { ...(JSON.parse(d.publicJwk) as JWK), kid: d._id, alg: d.alg, use: 'sig' },
      createdAt: d.createdAt,
    };
  }

  private async current(): Promise<LoadedKey & { privateKey: KeyLike | Uint8Array }> {
    if (this.keys.length === 0 || Date.now() - this.loadedAt > this.reloadSeconds * 1000) await this.ensureKey();
    const key = this.keys[0];
    if (!key?.privateKey) throw new AppError(ErrorCode.ServiceUnavailable, 'Signing keys unavailable');
    return key as LoadedKey & { privateKey: KeyLike | Uint8Array };
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

  /**
   * The public keys. When the store cannot be read, the keys loaded last are served (public
   * halves only; a key made meanwhile could not have been stored either): a store outage must not
   * also stop every token check in the gateway. Nothing loaded yet → the store's error.
   */
  async jwks(): Promise<{ keys: JWK[] }> {
    if (this.keys.length === 0 || Date.now() - this.loadedAt > JWKS_MAX_STALENESS_MS) {
      try {
        await this.reload();
      } catch (err) {
        if (this.keys.length === 0) throw err;
        this.log.warn(
          { err: (err as Error).message, ageMs: Date.now() - this.loadedAt },
          'JWKS served from the last loaded keys',
        );
      }
    }
    return { keys: this.keys.map((k) => k.publicJwk) };
  }
}
