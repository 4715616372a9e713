import type { DomainEvent, Logger, Redis } from '@tm/kit';

export type StreamEntries = Array<[id: string, fields: string[] | null]>;

/** The domain event of a stream entry (null when malformed: logged and skipped). */
export function parseEntry(id: string, fields: string[] | null, log: Logger): DomainEvent | null {
  if (!fields) return null;
  try {
    return JSON.parse(fields[fields.indexOf('event') + 1] ?? '') as DomainEvent;
  } catch {
    log.warn({ streamId: id }, 'malformed event skipped');
    return null;
  }
}

/** A stream's key as Redis sees it (ioredis does not apply its key prefix to XGROUP's and XINFO's key). */
export const rawKey = (redis: Redis, stream: string) => `${redis.options.keyPrefix ?? ''}${stream}`;

/** Whether entries were ever trimmed or deleted from a stream (then a replay misses its oldest events). */
export async function streamTrimmed(
  redis: Redis,
  stream: string,
): Promise<{ trimmed: boolean; length: number; firstId: string | null }> {
  const info = (await redis.call('XINFO', 'STREAM', rawKey(redis, stream)).catch(() => null)) as unknown[] | null;
  if (!info) return { trimmed: false, length: 0, firstId: null };
  const get = (k: string) => info[info.indexOf(k) + 1];
  const maxDeleted = String(get('max-deleted-entry-id') ?? '0-0');
  const first = get('first-entry') as [string, unknown] | null;
  return { trimmed: maxDeleted !== '0-0', length: Number(get('length') ?? 0), firstId: first?.[0] ?? null };
}
