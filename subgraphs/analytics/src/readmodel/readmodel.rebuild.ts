import { type Logger, parseStreamEntry, type Redis, type StreamEntries } from '@tm/kit/infra';
import { STREAMS } from './readmodel.consumer';
import { dropGeneration, generation, POINTER_ID, ReadModelPointerModel, readPointer } from './readmodel.generation';
import { Projector, recountAllBuckets } from './readmodel.projector';
import { streamTrimmed } from './readmodel.stream';

export interface RebuildOptions {
  redis: Redis;
  log: Logger;
  /** How long running consumers take to notice the rebuild (they re-read the pointer every poll). */
  settleMs: number;
  /** Switch even when a stream was trimmed (its oldest events are gone, so are their tasks). */
  allowIncomplete?: boolean;
  /** Take over a rebuild left unfinished (a crashed run). */
  force?: boolean;
  pageSize?: number;
}

export interface RebuildResult {
  from: number;
  to: number;
  events: number;
  facts: number;
  buckets: number;
}

/**
 * Replays the task and project streams into a fresh generation of the read model, then switches
 * queries to it. Running consumers see `building` and apply every event to both generations
 * meanwhile (events are idempotent, so an event replayed and also delivered live counts once);
 * after the replay reached the streams' end, one more pass reads what arrived since the replay
 * started, so nothing falls in between. Generations older than the one before are dropped.
 */
export async function rebuildReadModel(opts: RebuildOptions): Promise<RebuildResult> {
  const { redis, log } = opts;
  for (const stream of STREAMS) {
    const t = await streamTrimmed(redis, stream);
    if (t.trimmed && !opts.allowIncomplete) {
      throw new Error(
        `${stream} was trimmed (oldest entry ${t.firstId}): a replay would miss older events; pass --allow-incomplete to rebuild anyway`,
      );
    }
  }
  const before = await readPointer();
  if (before.building && !opts.force)
    throw new Error(`a rebuild into generation ${before.building} is running (or crashed: pass --force)`);
  const next = Math.max(before.current, before.building ?? 0, before.previous ?? 0) + 1;
  await dropGeneration(next); // leftovers of a crashed run
  const claimed = await ReadModelPointerModel.updateOne(
    { _id: POINTER_ID, current: before.current, building: before.building ?? null },
    { $set: { building: next } },
  );
  if (claimed.matchedCount === 0) throw new Error('the read model pointer changed meanwhile; run again');
  const g = await generation(next);
  const projector = new Projector(g, { deferBuckets: true });
  await new Promise((r) => setTimeout(r, opts.settleMs));
  let events = 0;
  const last: Record<string, string> = {};
  const replay = async () => {
    for (const stream of STREAMS) {
      for (;;) {
        const start = last[stream] ? `(${last[stream]}` : '-';
        const page = (await redis.xrange(stream, start, '+', 'COUNT', opts.pageSize ?? 1000)) as StreamEntries;
        if (!page.length) break;
        for (const [id, fields] of page) {
          const event = parseStreamEntry(id, fields, log);
          if (event) await projector.apply(event);
          events++;
          last[stream] = id;
        }
      }
    }
  };
  try {
    await replay();
    // consumers apply to the new generation by now; read what arrived during the replay once more
    await new Promise((r) => setTimeout(r, opts.settleMs));
    await replay();
    const buckets = await recountAllBuckets(g);
    const facts = await g.facts.countDocuments({});
    const switched = await ReadModelPointerModel.updateOne(
      { _id: POINTER_ID, building: next },
      { $set: { current: next, building: null, previous: before.current, switchedAt: new Date() } },
    );
    if (switched.matchedCount === 0) throw new Error('the rebuild was taken over by another run');
    // older generations than the one just replaced are no longer needed (the replaced one stays for a rollback)
    for (let n = 1; n < before.current; n++) await dropGeneration(n);
    log.info({ from: before.current, to: next, events, facts, buckets }, 'read model rebuilt and switched');
    return { from: before.current, to: next, events, facts, buckets };
  } catch (err) {
    await ReadModelPointerModel.updateOne({ _id: POINTER_ID, building: next }, { $set: { building: null } });
    await dropGeneration(next);
    throw err;
  }
}
