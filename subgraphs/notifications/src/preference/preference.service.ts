import { AppError, ErrorCode } from '@tm/kit/contracts';
import { DEFAULT_CHANNELS, NOTIFICATION_KINDS, type Channel, type NotificationKind } from '../notification/notification.enums';
import { PreferencesModel, type KindPreference, type NotificationPreferences } from './preference.model';

export interface PreferencesChange {
  kinds?: Array<{ kind: string; inApp?: boolean | null; email?: boolean | null; push?: boolean | null }> | null;
  dailyDigest?: boolean | null;
}

/** Per user, per kind and channel, with the defaults for what the user never set. */
export class PreferenceService {
  async of(userId: string): Promise<NotificationPreferences> {
    const stored = await PreferencesModel.findById(userId).lean<NotificationPreferences>();
    return complete(userId, stored);
  }

  /** Several users' preferences at once (one read). */
  async ofMany(userIds: readonly string[]): Promise<Map<string, NotificationPreferences>> {
    const stored = await PreferencesModel.find({ _id: { $in: [...new Set(userIds)] } }).lean<NotificationPreferences[]>();
    const byId = new Map(stored.map((p) => [p._id, p]));
    return new Map(userIds.map((id) => [id, complete(id, byId.get(id) ?? null)]));
  }

  /** Changes the given kinds' channels (others keep theirs) and the digest option; API-002 on an unknown kind. */
  async update(userId: string, change: PreferencesChange): Promise<NotificationPreferences> {
    const current = await this.of(userId);
    const kinds = new Map(current.kinds.map((k) => [k.kind, { ...k }]));
    for (const k of change.kinds ?? []) {
      const entry = kinds.get(k.kind);
      if (!entry)
        throw new AppError(ErrorCode.InvalidRequest, `Invalid kind: one of ${NOTIFICATION_KINDS.join(', ')}`, { field: 'kinds' });
      for (const ch of ['inApp', 'email', 'push'] as const) if (typeof k[ch] === 'boolean') entry[ch] = k[ch];
    }
    const dailyDigest = typeof change.dailyDigest === 'boolean' ? change.dailyDigest : current.dailyDigest;
    await PreferencesModel.updateOne({ _id: userId }, { $set: { kinds: [...kinds.values()], dailyDigest } }, { upsert: true });
    return { _id: userId, kinds: [...kinds.values()], dailyDigest };
  }
}

function complete(userId: string, stored: NotificationPreferences | null): NotificationPreferences {
  const set = new Map((stored?.kinds ?? []).map((k) => [k.kind, k]));
  const kinds: KindPreference[] = NOTIFICATION_KINDS.map((kind) => {
    const s = set.get(kind);
    const d = DEFAULT_CHANNELS[kind];
    return { kind, inApp: s?.inApp ?? d.inApp, email: s?.email ?? d.email, push: s?.push ?? d.push };
  });
  return { _id: userId, kinds, dailyDigest: stored?.dailyDigest ?? false };
}

/** Whether `channel` is on for `kind` in these preferences. */
export function wants(prefs: NotificationPreferences, kind: NotificationKind | string, channel: Channel): boolean {
  const k = prefs.kinds.find((p) => p.kind === kind);
  return k ? k[channel] : (DEFAULT_CHANNELS[kind as NotificationKind]?.[channel] ?? false);
}
