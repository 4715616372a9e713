import { createHash, randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import { AppError, ErrorCode, invalidInput } from '@tm/kit/contracts';
import { type Redis, type SecretBox } from '@tm/kit/infra';
import { UserStatus, UserModel, type Role, type User } from '../user/user.model';
import { MFA_POLICY_ID, MfaPolicyModel, type MfaPolicy } from './mfa-policy.model';

/** RFC 6238 with the usual authenticator-app parameters: SHA-1, 6 digits, 30 s steps, ±1 step accepted. */
const totp = authenticator.clone({ window: 1, step: 30, digits: 6 });
const STEP_MS = 30_000;
const RECOVERY_CODE_COUNT = 10;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** Recovery codes are compared without case, spaces or dashes. */
const normaliseRecovery = (code: string) => code.toLowerCase().replace(/[\s-]/g, '');
/** The last TOTP step accepted for a user (Redis, expires after the window has passed). */
const lastStepKey = (userId: string) => `auth:totp-last-step:${userId}`;
/** Sealed MFA secrets are bound to their user, so a copied value does not open elsewhere. */
const aadOf = (userId: string) => `users.mfaSecret:${userId}`;

/** 16 base32 characters (80 bits) in groups of four: `abcd-efgh-ijkl-mnop`. */
function newRecoveryCode(): string {
  const bytes = randomBytes(16);
  const chars = [...bytes].map((b) => BASE32[b & 31]).join('');
  return chars.match(/.{4}/g)!.join('-');
}

/**
 * Accepts a TOTP step at most once per user: the step must be later than the last one accepted
 * (RFC 6238 §5.2), checked and recorded in one atomic Redis script.
 */
const CLAIM_STEP = `
local last = tonumber(redis.call('get', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1`;

export interface Enrollment {
  secret: string;
  otpauthUrl: string;
  recoveryCodes: string[];
}

type RedisWithClaim = Redis & { tmClaimTotpStep(key: string, step: string, ttl: string): Promise<number> };

/**
 * TOTP MFA: enrollment (secret sealed at rest, recovery codes stored as hashes and shown once),
 * checking codes at sign-in with replay protection, and the MFA policy by role.
 */
export class MfaService {
  private readonly redis: RedisWithClaim;

  constructor(
    redis: Redis,
    private readonly box: SecretBox,
    private readonly issuer: string,
  ) {
    if (typeof (redis as unknown as Partial<RedisWithClaim>).tmClaimTotpStep !== 'function') {
      redis.defineCommand('tmClaimTotpStep', { numberOfKeys: 1, lua: CLAIM_STEP });
    }
    this.redis = redis as unknown as RedisWithClaim;
  }

  /** A new secret and recovery codes, pending until confirmed with a code from the app. */
  async startEnrollment(userId: string): Promise<Enrollment> {
    const user = await this.activeUser(userId);
    if (user.mfaEnabled) throw invalidInput('mfa', 'MFA is already enabled; an administrator can reset it');
    const secret = totp.generateSecret(20);
    const recoveryCodes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await UserModel.updateOne(
      { _id: userId },
      {
        $set: {
          mfaPendingSecret: this.box.encrypt(secret, aadOf(userId)),
          mfaPendingRecoveryHashes: recoveryCodes.map((c) => sha256(normaliseRecovery(c))),
        },
      },
    );
    return { secret, otpauthUrl: totp.keyuri(user.email, this.issuer, secret), recoveryCodes };
  }

  /** Turns MFA on when the code matches the pending secret. Wrong code: `AUTH-001`. */
  async confirmEnrollment(userId: string, code: string): Promise<User> {
    const user = await this.activeUser(userId);
    if (user.mfaEnabled) throw invalidInput('mfa', 'MFA is already enabled');
    if (!user.mfaPendingSecret) throw invalidInput('code', 'start an enrollment first');
    const secret = this.box.decrypt(user.mfaPendingSecret, aadOf(userId));
    if (!(await this.checkTotp(userId, secret, code))) throw new AppError(ErrorCode.AuthFailed, 'Invalid MFA code');
    const updated = await UserModel.findOneAndUpdate(
      { _id: userId, mfaPendingSecret: user.mfaPendingSecret },
      {
        $set: {
          mfaEnabled: true,
          mfaSecret: user.mfaPendingSecret,
          mfaRecoveryHashes: user.mfaPendingRecoveryHashes,
          mfaEnrollmentRequired: false,
          mfaPendingRecoveryHashes: [],
        },
        $unset: { mfaPendingSecret: '' },
      },
      { returnDocument: 'after' },
    ).lean<User>();
    // a concurrent start replaced the pending secret: this code was for the old one
    if (!updated) throw invalidInput('code', 'the enrollment changed meanwhile; start again');
    return updated;
  }

  /** True when `code` is a valid TOTP code (not used before) or an unused recovery code, which it uses up. */
  async verifyLogin(user: User, code: string): Promise<boolean> {
    if (!user.mfaEnabled || !user.mfaSecret) return false;
    const trimmed = code.trim();
    if (/^\d{6}$/.test(trimmed)) {
      let secret: string;
      try {
        secret = this.box.decrypt(user.mfaSecret, aadOf(user._id));
      } catch {
        throw new AppError(ErrorCode.ServiceUnavailable, 'MFA is temporarily unavailable');
      }
      const ok = await this.checkTotp(user._id, secret, trimmed);
      if (ok && this.box.isStale(user.mfaSecret)) {
        // sealed with an older key: re-seal with the active one
        await UserModel.updateOne(
          { _id: user._id, mfaSecret: user.mfaSecret },
          { $set: { mfaSecret: this.box.encrypt(secret, aadOf(user._id)) } },
        );
      }
      return ok;
    }
    const hash = sha256(normaliseRecovery(trimmed));
    if (!user.mfaRecoveryHashes.includes(hash)) return false;
    // of two concurrent uses of one code only one may win: the pull matches only while it is there
    const res = await UserModel.updateOne({ _id: user._id, mfaRecoveryHashes: hash }, { $pull: { mfaRecoveryHashes: hash } });
    return res.modifiedCount === 1;
  }

  /** True when the user must enroll before getting tokens: reset by an admin, or a role under the MFA policy. */
  async mustEnroll(user: User): Promise<boolean> {
    if (user.mfaEnabled) return false;
    if (user.mfaEnrollmentRequired) return true;
    const policy = await MfaPolicyModel.findById(MFA_POLICY_ID).lean<MfaPolicy>();
    return Boolean(policy?.roles.some((r) => (user.roles as string[]).includes(r)));
  }

  /** Sets the roles that must use MFA; returns how many active users of those roles have not enrolled yet. */
  async enforceForRoles(roles: Role[], actorId: string | null): Promise<number> {
    const unique = [...new Set(roles)];
    await MfaPolicyModel.updateOne({ _id: MFA_POLICY_ID }, { $set: { roles: unique, setBy: actorId } }, { upsert: true });
    if (unique.length === 0) return 0;
    return UserModel.countDocuments({ roles: { $in: unique }, mfaEnabled: false, status: UserStatus.ACTIVE });
  }

  /** Removes the user's MFA (secret, pending enrollment, recovery codes); `requireReenroll` makes the next sign-in enroll again. */
  async clear(userId: string, requireReenroll: boolean): Promise<User | null> {
    // steps used with the old secret say nothing about a new one
    await this.redis.del(lastStepKey(userId));
    return UserModel.findOneAndUpdate(
      { _id: userId },
      {
        $set: { mfaEnabled: false, mfaRecoveryHashes: [], mfaPendingRecoveryHashes: [], mfaEnrollmentRequired: requireReenroll },
        $unset: { mfaSecret: '', mfaPendingSecret: '' },
      },
      { returnDocument: 'after' },
    ).lean<User>();
  }

  private async checkTotp(userId: string, secret: string, code: string): Promise<boolean> {
    if (!/^\d{6}$/.test(code.trim())) return false;
    const delta = totp.checkDelta(code.trim(), secret);
    if (delta === null) return false;
    const step = Math.floor(Date.now() / STEP_MS) + delta;
    const ttl = String(Math.ceil((STEP_MS * 4) / 1000));
    return (await this.redis.tmClaimTotpStep(lastStepKey(userId), String(step), ttl)) === 1;
  }

  private async activeUser(userId: string): Promise<User> {
    const user = await UserModel.findById(userId).lean<User>();
    if (!user || user.status !== UserStatus.ACTIVE) throw new AppError(ErrorCode.AuthFailed, 'Authentication required');
    return user;
  }
}
