import { hostname } from 'node:os';
import { eventStream, type Logger, type Metrics, type Redis } from '@tm/kit';
import client from 'prom-client';
import { generation, readPointer } from './generation';
import { Projector, settleDirty, type ApplyResult } from './projector';
import { parseEntry, rawKey, type StreamEntries } from './stream';

export const ANALYTICS_GROUP = 'analytics';
export const STREAMS = [eventStream('tasks'), eventStream('projects')];
const BATCH = 500;
const SETTLE_EVERY_MS = 5000;

/**
 * Feeds the read model from the task and project streams through the consumer group `analytics`,
 * shared by every analytics process: at-least-once (an entry is acknowledged only once applied;
 * a dead consumer's pending entries are claimed after `claimIdleMs`), and correct under
 * duplicates and any order (see Projector). The group starts at the beginning of each stream, so
 * a first start, or a start after downtime, catches up from the group's position.
 * While a rebuild is filling a new generation, every event is applied to it too.
 */
export class ReadModelConsumer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private groupsReady = false;
  private readonly consumer = `${hostname()}-${process.pid}`;
  private settledAt = 0;
  private readonly applied: client.Counter<'stream' | 'result'>;
  /** Stream entries handled since start (tests and the runbook wait on it). */
  handled = 0;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    metrics: Metrics,
    private readonly opts: { pollMs: number; claimIdleMs: number },
  ) {
    this.applied = new client.Counter({
      name: 'analytics_events_total',
      help: 'Stream entries handled by the read model consumer, by stream and result (applied, stale, ignored)',
      labelNames: ['stream', 'result'],
      registers: [metrics.registry],
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new client.Gauge({
      name: 'analytics_consumer_lag',
      help: 'Entries of each stream not yet delivered to the analytics group (XINFO GROUPS lag)',
      labelNames: ['stream'],
      registers: [metrics.registry],
      async collect() {
        for (const [stream, s] of Object.entries(await self.lag().catch(() => ({})))) this.set({ stream }, s.lag);
      },
    });
    new client.Gauge({
      name: 'analytics_consumer_pending',
      help: 'Entries of each stream delivered to the analytics group and not yet acknowledged',
      labelNames: ['stream'],
      registers: [metrics.registry],
      async collect() {
        for (const [stream, s] of Object.entries(await self.lag().catch(() => ({})))) this.set({ stream }, s.pending);
      },
    });
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      let again = false;
      this.running = this.poll()
        .then((n) => {
          again = n >= BATCH; // behind: read on at once
        })
        .catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'read model poll failed'))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, again ? 0 : this.opts.pollMs);
        });
    };
    tick();
  }

  private async ensureGroups(): Promise<void> {
    if (this.groupsReady) return;
    for (const stream of STREAMS) {
      try {
        await this.redis.xgroup('CREATE', rawKey(this.redis, stream), ANALYTICS_GROUP, '0', 'MKSTREAM');
      } catch (err) {
        if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      }
    }
    this.groupsReady = true;
  }

  /** The projectors of the generations to write: the current one and, during a rebuild, the new one. */
  private async targets(): Promise<Projector[]> {
    const p = await readPointer();
    const gens = [p.current, ...(p.building && p.building !== p.current ? [p.building] : [])];
    return Promise.all(gens.map(async (n) => new Projector(await generation(n))));
  }

  /** One round per stream: stale pending entries taken over, this consumer's unacknowledged ones, new ones. */
  async poll(): Promise<number> {
    if (this.redis.status !== 'ready') return 0;
    await this.ensureGroups();
    const targets = await this.targets();
    // buckets a crashed process left to recount (rarely any: every few seconds is enough)
    if (Date.now() - this.settledAt > SETTLE_EVERY_MS) {
      this.settledAt = Date.now();
      await settleDirty(await generation((await readPointer()).current));
    }
    let handled = 0;
    for (const stream of STREAMS) {
      const claimed = (await this.redis.xautoclaim(
        stream,
        ANALYTICS_GROUP,
        this.consumer,
        this.opts.claimIdleMs,
        '0-0',
        'COUNT',
        BATCH,
      )) as [string, StreamEntries];
      handled += await this.handle(stream, claimed[1] ?? [], targets);
      const mine = (await this.redis.xreadgroup(
        'GROUP',
        ANALYTICS_GROUP,
        this.consumer,
        'COUNT',
        BATCH,
        'STREAMS',
        stream,
        '0',
      )) as Array<[string, StreamEntries]> | null;
      handled += await this.handle(stream, mine?.[0]?.[1] ?? [], targets);
      // the pointer read right before new entries are fetched: an entry added after a rebuild
      // started is applied to the new generation too, or was in the stream before the rebuild's
      // last pass (which runs a few poll intervals later)
      const now = await this.targets();
      const fresh = (await this.redis.xreadgroup(
        'GROUP',
        ANALYTICS_GROUP,
        this.consumer,
        'COUNT',
        BATCH,
        'STREAMS',
        stream,
        '>',
      )) as Array<[string, StreamEntries]> | null;
      handled += await this.handle(stream, fresh?.[0]?.[1] ?? [], now);
    }
    return handled;
  }

  private async handle(stream: string, entries: StreamEntries, targets: Projector[]): Promise<number> {
    const done: string[] = [];
    try {
      for (const [id, fields] of entries) {
        const event = parseEntry(id, fields, this.log);
        let result: ApplyResult = 'ignored';
        // a failure throws before the ack: the entry is read again next round
        if (event) for (const t of targets) result = await t.apply(event);
        this.applied.inc({ stream, result });
        done.push(id);
      }
    } finally {
      if (done.length) await this.redis.xack(stream, ANALYTICS_GROUP, ...done);
      this.handled += done.length;
    }
    return done.length;
  }

  /** Per stream: entries not yet delivered to the group (lag) and delivered but unacknowledged (pending). */
  async lag(): Promise<Record<string, { lag: number; pending: number }>> {
    const out: Record<string, { lag: number; pending: number }> = {};
    for (const stream of STREAMS) {
      const groups = (await this.redis.call('XINFO', 'GROUPS', rawKey(this.redis, stream)).catch(() => [])) as unknown[][];
      for (const g of groups) {
        const get = (k: string) => g[g.indexOf(k) + 1];
        if (get('name') === ANALYTICS_GROUP) out[stream] = { lag: Number(get('lag') ?? 0), pending: Number(get('pending') ?? 0) };
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
