import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppError, ErrorCode } from '@tm/kit/contracts';
import { type Logger, type Redis, RedisKeys } from '@tm/kit/infra';
import { Session, SessionModel } from './session.model';

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');
const newSecret = () => randomBytes(32).toString('base64url');
/** How long a second use waits for a concurrent rotation's grace record before it counts as a replay. */
const ROTATION_IN_FLIGHT_MS = 3000;
const graceRecord = (presentedHash: string) => `auth:refresh-grace:${presentedHash}`;
const TOKEN_RE = /^([0-9a-f-]{36})\.([\w-]{43})$/;

/** AES-256-GCM key only the holder of a refresh token's secret can derive (for its grace record). */
const graceKey = (secret: string) => createHash('sha256').update(`refresh-grace:${secret}`).digest();

function sealFor(secret: string, successor: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', graceKey(secret), iv);
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

function openWith(secret: string, sealed: string): string | null {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', graceKey(secret), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

export interface RotatedSession {
  userId: string;
  sessionId: string;
  refreshToken: string;
  /** The user's token version the session was started with (undefined for older sessions). */
  tokenVersion: number | undefined;
}

function invalid(): AppError {
  return new AppError(ErrorCode.TokenInvalid, 'Refresh token invalid or expired');
}

/**
 * Refresh tokens (`<sessionId>.<secret>`), rotated on every use. A token used twice means it
 * leaked: the whole session ends, and its access tokens stop working at the gateway.
 *
 * Except within a short grace window (`graceMs`, REFRESH_REUSE_GRACE_SECONDS) after its rotation:
 * two tabs or a retried request refreshing with the same token at the same moment both get the
 * same successor instead of ending the session. The successor waits in Redis for that window,
 * sealed with a key derived from the old token's secret (readable only by whoever holds it), and
 * a use after the window is a replay as before.
 */
export class SessionService {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly refreshTtlMs: number,
    private readonly accessTtlSeconds: number,
    private readonly graceMs = 0,
  ) {}

  /** A new session bound to the user's token version `tokenVersion` (see AuthService.refresh). */
  async start(userId: string, tokenVersion: number): Promise<{ sessionId: string; refreshToken: string }> {
    const sessionId = randomUUID();
    const secret = newSecret();
    await SessionModel.create({
      _id: sessionId,
      userId,
      secretHash: hash(secret),
      tokenVersion,
      expiresAt: new Date(Date.now() + this.refreshTtlMs),
    });
    return { sessionId, refreshToken: `${sessionId}.${secret}` };
  }

  /** Exchanges a refresh token for its successor. */
  async rotate(refreshToken: string): Promise<RotatedSession> {
    const m = TOKEN_RE.exec(refreshToken);
    if (!m) throw invalid();
    const [, sessionId, secret] = m as unknown as [string, string, string];
    const presented = hash(secret);
    const session = await SessionModel.findById(sessionId).lean<Session>();
    if (!session || session.revokedAt || session.expiresAt.getTime() < Date.now()) throw invalid();
    if (session.secretHash !== presented) {
      if (!session.previousHashes.includes(presented)) throw invalid();
      // rotated already, but the winner may not have left its successor yet (its Redis write follows
      // the store's): wait for it as below
      return {
        ...(await this.successorInGrace(session.userId, sessionId, secret, presented, ROTATION_IN_FLIGHT_MS)),
        tokenVersion: session.tokenVersion,
      };
    }
    // one use per token: the rotation is a compare-and-set on the current hash, so of concurrent
    // uses exactly one rotates; the others are replays, unless the winner leaves its successor for
    // the grace window
    const next = newSecret();
    const rotated = await SessionModel.updateOne(
      { _id: sessionId, secretHash: presented, revokedAt: null, expiresAt: { $gt: new Date() } },
      { $set: { secretHash: hash(next) }, $push: { previousHashes: presented } },
    );
    if (rotated.modifiedCount === 0) {
      return {
        ...(await this.successorInGrace(session.userId, sessionId, secret, presented, ROTATION_IN_FLIGHT_MS)),
        tokenVersion: session.tokenVersion,
      };
    }
    const successor = `${sessionId}.${next}`;
    if (this.graceMs > 0) await this.redis.set(graceRecord(presented), sealFor(secret, successor), 'PX', this.graceMs);
    return { userId: session.userId, sessionId, refreshToken: successor, tokenVersion: session.tokenVersion };
  }

  /**
   * A second use of a rotated token: its successor when the rotation is within the grace window
   * (waiting up to `waitMs` for a rotation still in flight), otherwise the session ends.
   */
  private async successorInGrace(
    userId: string,
    sessionId: string,
    secret: string,
    presented: string,
    waitMs: number,
  ): Promise<{ userId: string; sessionId: string; refreshToken: string }> {
    if (this.graceMs > 0) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const sealed = await this.redis.get(graceRecord(presented));
        const successor = sealed ? openWith(secret, sealed) : null;
        if (successor) {
          const live = await SessionModel.findById(sessionId, { revokedAt: 1 }).lean<Pick<Session, 'revokedAt'>>();
          if (!live || live.revokedAt) throw invalid();
          this.log.info({ sessionId }, 'refresh token used again within the grace window');
          return { userId, sessionId, refreshToken: successor };
        }
        if (Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await this.revoke(sessionId, 'refresh token reuse');
    throw invalid();
  }

  /** Ends the session the token belongs to; false when it was not a live session. */
  async end(refreshToken: string, userId: string | null): Promise<boolean> {
    const m = TOKEN_RE.exec(refreshToken);
    if (!m) return false;
    const [, sessionId, secret] = m as unknown as [string, string, string];
    const session = await SessionModel.findById(sessionId).lean<Session>();
    if (!session || session.revokedAt || session.secretHash !== hash(secret)) return false;
    if (userId && session.userId !== userId) return false;
    await this.revoke(sessionId, 'logout');
    return true;
  }

  /**
   * Ends every live session of a user (all refresh tokens, and their access tokens at the
   * gateway at once), except `keep` (the caller's own, e.g. on a password change).
   */
  async revokeAll(userId: string, reason: string, keep: string | null = null): Promise<number> {
    const live = await SessionModel.find({ userId, revokedAt: null, expiresAt: { $gt: new Date() } }, { _id: 1 }).lean<
      Array<{ _id: string }>
    >();
    const ids = live.map((s) => s._id).filter((id) => id !== keep);
    for (const id of ids) await this.revoke(id, reason);
    return ids.length;
  }

  async revoke(sessionId: string, reason: string): Promise<void> {
    await SessionModel.updateOne({ _id: sessionId, revokedAt: null }, { $set: { revokedAt: new Date(), revokedReason: reason } });
    // the gateway refuses this session's access tokens until they would have expired anyway
    await this.redis.set(RedisKeys.revokedSession(sessionId), '1', 'EX', this.accessTtlSeconds + 60);
    this.log.info({ sessionId, reason }, 'session revoked');
  }
}
