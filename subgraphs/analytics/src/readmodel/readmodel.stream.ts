import { rawStreamKey, type Redis } from '@tm/kit/infra';

/** Whether entries were ever trimmed or deleted from a stream (then a replay misses its oldest events). */
export async function streamTrimmed(
  redis: Redis,
  stream: string,
): Promise<{ trimmed: boolean; length: number; firstId: string | null }> {
  const info = (await redis.call('XINFO', 'STREAM', rawStreamKey(redis, stream)).catch(() => null)) as unknown[] | null;
  if (!info) return { trimmed: false, length: 0, firstId: null };
  const get = (k: string) => info[info.indexOf(k) + 1];
  const maxDeleted = String(get('max-deleted-entry-id') ?? '0-0');
  const first = get('first-entry') as [string, unknown] | null;
  return { trimmed: maxDeleted !== '0-0', length: Number(get('length') ?? 0), firstId: first?.[0] ?? null };
}
