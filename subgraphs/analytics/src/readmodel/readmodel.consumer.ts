import { eventStream, type Logger, type Metrics, type Redis, StreamConsumer } from '@tm/kit/infra';
import client from 'prom-client';
import { generation, readPointer } from './readmodel.generation';
import { Projector, settleDirty, type ApplyResult } from './readmodel.projector';

export const ANALYTICS_GROUP = 'analytics';
export const STREAMS = [eventStream('tasks'), eventStream('projects')];
const BATCH = 500;
const SETTLE_EVERY_MS = 5000;

/**
 * Feeds the read model from the task and project streams through the kit's stream consumer in the
 * group `analytics`, shared by every analytics process; correct under duplicates and any order
 * (see Projector). While a rebuild is filling a new generation, every event is applied to it too.
 */
export class ReadModelConsumer extends StreamConsumer {
  /** The projectors of the generations to write: the current one and, during a rebuild, the new one. */
  private targets: Projector[] = [];
  private settledAt = 0;

  constructor(redis: Redis, log: Logger, metrics: Metrics, opts: { pollMs: number; claimIdleMs: number }) {
    const applied = new client.Counter({
      name: 'analytics_events_total',
      help: 'Stream entries handled by the read model consumer, by stream and result (applied, stale, ignored)',
      labelNames: ['stream', 'result'],
      registers: [metrics.registry],
    });
    super(redis, log, {
      group: ANALYTICS_GROUP,
      streams: STREAMS,
      pollMs: opts.pollMs,
      claimIdleMs: opts.claimIdleMs,
      batch: BATCH,
      readOnAfter: BATCH, // a full batch: behind, read on at once
      beforeRound: () => this.roundStart(),
      // the pointer read right before new entries are fetched: an entry added after a rebuild
      // started is applied to the new generation too, or was in the stream before the rebuild's
      // last pass (which runs a few poll intervals later)
      beforeReadNew: async () => {
        this.targets = await this.readTargets();
      },
      handle: async (event) => {
        let result: ApplyResult = 'ignored';
        for (const t of this.targets) result = await t.apply(event);
        return result;
      },
      onOutcome: ({ stream, outcome, result }) => {
        if (outcome === 'ok' || outcome === 'skipped') applied.inc({ stream, result: result ?? 'ignored' });
      },
      lagMetrics: { registry: metrics.registry, prefix: 'analytics' },
    });
  }

  private async readTargets(): Promise<Projector[]> {
    const p = await readPointer();
    const gens = [p.current, ...(p.building && p.building !== p.current ? [p.building] : [])];
    return Promise.all(gens.map(async (n) => new Projector(await generation(n))));
  }

  private async roundStart(): Promise<void> {
    this.targets = await this.readTargets();
    // buckets a crashed process left to recount (rarely any: every few seconds is enough)
    if (Date.now() - this.settledAt > SETTLE_EVERY_MS) {
      this.settledAt = Date.now();
      await settleDirty(await generation((await readPointer()).current));
    }
  }
}
