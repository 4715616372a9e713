import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppError, ErrorCode, RedisKeys, type Logger, type Redis } from '@tm/kit';
import { Session, SessionModel } from './session.model';

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');
const newSecret = () => randomBytes(32).toString('base64url');
const TOKEN_RE = /^([0-9a-f-]{36})\.([\w-]{43})$/;

function invalid(): AppError {
  return new AppError(ErrorCode.TokenInvalid, 'Refresh token invalid or expired');
}

/**
 * Refresh tokens (`<sessionId>.<secret>`), rotated on every use. A token used twice means it
 * leaked: the whole session ends, and its access tokens stop working at the gateway.
 */
export class SessionService {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly refreshTtlMs: number,
    private readonly accessTtlSeconds: number,
  ) {}

  async start(userId: string): Promise<{ sessionId: string; refreshToken: string }> {
    const sessionId = randomUUID();
    const secret = newSecret();
    await SessionModel.create({
      _id: sessionId,
      userId,
      secretHash: hash(secret),
      expiresAt: new Date(Date.now() + this.refreshTtlMs),
    });
    return { sessionId, refreshToken: `${sessionId}.${secret}` };
  }

  /** Exchanges a refresh token for its successor. */
  async rotate(refreshToken: string): Promise<{ userId: string; sessionId: string; refreshToken: string }> {
    const m = TOKEN_RE.exec(refreshToken);
    if (!m) throw invalid();
    const [, sessionId, secret] = m as unknown as [string, string, string];
    const presented = hash(secret);
    const session = await SessionModel.findById(sessionId).lean<Session>();
    if (!session || session.revokedAt || session.expiresAt.getTime() < Date.now()) throw invalid();
    if (session.secretHash !== presented) {
      if (session.previousHashes.includes(presented)) await this.revoke(sessionId, 'refresh token reuse');
      throw invalid();
    }
    // one use per token, decided in Redis (SET NX is atomic; FerretDB's conditional updates are
    // not under concurrency): the loser of a race is a replay
    const claim = await this.redis.set(`auth:refresh-used:${presented}`, '1', 'PX', this.refreshTtlMs, 'NX');
    if (claim !== 'OK') {
      await this.revoke(sessionId, 'refresh token reuse');
      throw invalid();
    }
    const next = newSecret();
    const updated = await SessionModel.findOneAndUpdate(
      { _id: sessionId, secretHash: presented, revokedAt: null },
      { $set: { secretHash: hash(next) }, $push: { previousHashes: presented } },
    ).lean();
    if (!updated) {
      // lost a race with another use of the same token: that is a replay too
      await this.revoke(sessionId, 'refresh token reuse');
      throw invalid();
    }
    return { userId: session.userId, sessionId, refreshToken: `${sessionId}.${next}` };
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
    const live = await SessionModel.find({ userId, revokedAt: null, expiresAt: { $gt: new Date() } }, { _id: 1 }).lean<Array<{ _id: string }>>();
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
