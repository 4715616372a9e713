import { createHash } from 'node:crypto';
import { AppError, ErrorCode } from '@tm/kit/contracts';
import { DeviceTokenModel, type DeviceToken } from './device.model';

const invalid = (problem: string) => new AppError(ErrorCode.InvalidRequest, `Invalid token: ${problem}`, { field: 'token' });
const B64URL = /^[A-Za-z0-9_-]+=*$/;

/**
 * Device endpoints for push. A token is the browser's PushSubscription as JSON
 * (`{"endpoint":"https://…","keys":{"p256dh":"…","auth":"…"}}`), platform `web`.
 */
export class DeviceService {
  /** Registers (or moves to this user) a device; API-002 for anything that is not a Web Push subscription. */
  async register(userId: string, token: string, platform: string): Promise<boolean> {
    if (platform.toLowerCase() !== 'web')
      throw new AppError(ErrorCode.InvalidRequest, 'Invalid platform: only web (Web Push) is supported', { field: 'platform' });
    if (token.length > 4096) throw invalid('too long');
    let sub: { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } };
    try {
      sub = JSON.parse(token) as typeof sub;
    } catch {
      throw invalid('a Web Push subscription (JSON) is expected');
    }
    const { endpoint, keys } = sub ?? {};
    if (typeof endpoint !== 'string' || !/^https?:\/\/[^\s]+$/.test(endpoint)) throw invalid('endpoint must be an http(s) URL');
    if (typeof keys?.p256dh !== 'string' || !B64URL.test(keys.p256dh) || typeof keys.auth !== 'string' || !B64URL.test(keys.auth))
      throw invalid('keys.p256dh and keys.auth are required');
    const _id = createHash('sha256').update(endpoint).digest('hex');
    await DeviceTokenModel.updateOne(
      { _id },
      { $set: { userId, platform: 'web', endpoint, p256dh: keys.p256dh, auth: keys.auth, invalid: false } },
      { upsert: true },
    );
    return true;
  }

  valid(userId: string): Promise<DeviceToken[]> {
    return DeviceTokenModel.find({ userId, invalid: false }).lean<DeviceToken[]>().exec();
  }

  /** The push service said the endpoint is gone (404/410). */
  async markInvalid(id: string): Promise<void> {
    await DeviceTokenModel.updateOne({ _id: id }, { $set: { invalid: true } });
  }

  /** Removes tokens marked invalid; how many. */
  async cleanupInvalid(): Promise<number> {
    return (await DeviceTokenModel.deleteMany({ invalid: true })).deletedCount;
  }
}
