import type { DomainEvent } from '@tm/kit/infra';
import type { Redis } from 'ioredis';

/** Every event of a domain stream (`events:<name>`) in order, parsed (`redis` under the test's key prefix). */
export async function streamEvents(redis: Redis, stream: string): Promise<DomainEvent[]> {
  const entries = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
  return entries.map(([, f]) => JSON.parse(f[f.indexOf('event') + 1]!) as DomainEvent);
}
