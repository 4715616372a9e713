import { hostname } from 'node:os';
import client from 'prom-client';
import { retryDelay } from './backoff';
import { classify, ErrorCode } from '../contracts/errors';
import type { DomainEvent } from './events';
import type { Logger } from './logger';
import { addGaugeSource } from './metrics';
import type { Redis } from './redis';
import { traceStreamEntry } from './tracing';

/** Entries as XREADGROUP / XAUTOCLAIM / XRANGE return them (fields null: the entry was deleted meanwhile). */
export type StreamEntries = Array<[id: string, fields: string[] | null]>;

/** A stream's key as Redis sees it: ioredis does not apply its key prefix to XGROUP's and XINFO's key. */
export const rawStreamKey = (redis: Redis, stream: string) => `${redis.options.keyPrefix ?? ''}${stream}`;

/** The domain event of a stream entry (null when deleted or malformed; a malformed one is logged). */
export function parseStreamEntry(id: string, fields: string[] | null, log: Logger): DomainEvent | null {
  if (!fields) return null;
  try {
    return JSON.parse(fields[fields.indexOf('event') + 1] ?? '') as DomainEvent;
  } catch {
    log.warn({ streamId: id }, 'malformed event skipped');
    return null;
  }
}

/** The value of an entry's field (fields alternate name, value), or undefined. */
function entryField(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Failures that mean a dependency is unavailable (store or another service): waited out, never given up on. */
const TRANSIENT = new Set<string>([ErrorCode.DatabaseUnavailable, ErrorCode.ServiceUnavailable]);
export const isTransientFailure = (err: unknown) => TRANSIENT.has(classify(err)?.code ?? '');

/** What became of one stream entry: `skipped` (deleted, malformed or a type not asked for) is acknowledged unhandled. */
export interface StreamEntryOutcome {
  stream: string;
  id: string;
  event: DomainEvent | null;
  outcome: 'ok' | 'error' | 'dropped' | 'skipped';
  /** What the handler answered (e.g. applied / stale), for `ok`. */
  result?: string;
}

export interface StreamConsumerOptions {
  /** The consumer group, shared by every process of the service. */
  group: string;
  /** Stream keys as the service names them (the client's key prefix is added by the client). */
  streams: string[];
  /** Handles one event; a throw leaves the entry pending (read again). A string answer is the entry's result label. */
  handle: (event: DomainEvent, entry: { stream: string; id: string }) => Promise<string | void>;
  /** Wait between rounds once caught up. */
  pollMs: number;
  /** Another consumer's entries unacknowledged for this long are taken over (the consumer is presumed dead). */
  claimIdleMs: number;
  /** Entries per read (claimed, own pending, new), per stream and round. Default 100. */
  batch?: number;
  /** A round that handled at least this many entries is followed by the next at once (behind). Default 1; Infinity: always wait. */
  readOnAfter?: number;
  /** Only entries whose `type` field is one of these are parsed and handled; the others are acknowledged unread. */
  types?: ReadonlySet<string>;
  /** Tries of an entry failing for another reason than an unavailable dependency before it is dropped. Default Infinity. */
  maxTries?: number;
  /** Whether a handler failure is an unavailable dependency (waited out however long). Default: DB-001 and SYS-002. */
  isTransient?: (err: unknown) => boolean;
  /** This process's name in the group. Default `<host>-<pid>`, so a restarted process is a new consumer. */
  consumer?: string;
  /** Runs at the start of every round, after the groups exist; a throw fails the round (retried with backoff). */
  beforeRound?: () => Promise<void>;
  /** Runs right before a stream's new entries are fetched; a throw fails the round. */
  beforeReadNew?: (stream: string) => Promise<void>;
  /** Told what became of every entry (the service's own counters). */
  onOutcome?: (o: StreamEntryOutcome) => void;
  /**
   * Registers `<prefix>_consumer_lag{stream}` and `<prefix>_consumer_pending{stream}` in this registry,
   * and adds this consumer to `stream_consumer_lag{group,stream}` / `stream_consumer_pending{group,stream}`
   * (one name for every consumer, what the dashboards and the consumer-lag alert read).
   */
  lagMetrics?: { registry: client.Registry; prefix: string };
}

/** Failed tries remembered per entry at most (entries another consumer took over are never heard of again). */
const MAX_REMEMBERED_FAILURES = 10_000;

/**
 * A Redis Streams consumer-group reader: at-least-once (an entry is acknowledged once handled, so a
 * crash or an outage leaves it pending and it is handled again; handlers must be idempotent),
 * resuming from the group's position (the group is made at the streams' beginning), taking over
 * a dead consumer's pending entries after `claimIdleMs`. Each round, per stream: stale entries of
 * other consumers (XAUTOCLAIM), this consumer's own unacknowledged ones (a restart under the same
 * name), then new ones; in stream order, a failure ends that stream's round. It polls rather than
 * blocks: the service's one Redis connection and its command timeout are shared with every request.
 * While Redis or a store is down it waits with capped backoff, logging once when it starts and
 * once when it reads again.
 */
export class StreamConsumer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private started = false;
  private stopped = false;
  private groupsReady = false;
  /** Rounds in a row that failed or met an unavailable dependency without handling anything. */
  private troubledRounds = 0;
  /** Whether this round met an unavailable dependency in a handler. */
  private waiting = false;
  private readonly failures = new Map<string, number>();
  private readonly opts: Required<
    Omit<StreamConsumerOptions, 'types' | 'beforeRound' | 'beforeReadNew' | 'onOutcome' | 'lagMetrics'>
  > &
    StreamConsumerOptions;
  /** Entries acknowledged since start (handled, skipped or dropped). */
  handled = 0;
  /** Entries given up on after `maxTries` failures. */
  dropped = 0;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    opts: StreamConsumerOptions,
  ) {
    this.opts = {
      batch: 100,
      readOnAfter: 1,
      maxTries: Infinity,
      isTransient: isTransientFailure,
      consumer: `${hostname()}-${process.pid}`,
      ...opts,
    };
    if (opts.lagMetrics) this.registerLagGauges(opts.lagMetrics);
  }

  get consumer(): string {
    return this.opts.consumer;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.round().then((delay) => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(tick, delay);
      });
    };
    tick();
  }

  /** One round and the wait before the next: at once while behind, with backoff while something is down. */
  private async round(): Promise<number> {
    this.waiting = false;
    let n = 0;
    let failure: unknown = null;
    try {
      n = await this.poll();
    } catch (err) {
      failure = err;
    }
    const { group, pollMs, readOnAfter } = this.opts;
    if (failure || (this.waiting && n === 0)) {
      this.troubledRounds++;
      const err = failure ?? 'a handler met an unavailable dependency';
      const fields = { group, err: err instanceof Error ? err.message : String(err), rounds: this.troubledRounds };
      if (this.troubledRounds === 1) this.log.warn(fields, 'stream consumer waiting; retrying with backoff');
      else this.log.debug(fields, 'stream consumer still waiting');
      return Math.max(pollMs, retryDelay(this.troubledRounds));
    }
    if (this.troubledRounds > 0) this.log.info({ group, rounds: this.troubledRounds }, 'stream consumer reading again');
    this.troubledRounds = 0;
    return n >= readOnAfter ? 0 : pollMs;
  }

  private async ensureGroups(): Promise<void> {
    if (this.groupsReady) return;
    for (const stream of this.opts.streams) {
      try {
        // from the stream's first entry: a first start catches up with everything (handlers are idempotent)
        await this.redis.xgroup('CREATE', rawStreamKey(this.redis, stream), this.opts.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      }
    }
    this.groupsReady = true;
  }

  /** One round over every stream; resolves with the entries acknowledged. Throws when Redis (or a hook) fails. */
  async poll(): Promise<number> {
    if (this.redis.status !== 'ready') throw new Error(`redis ${this.redis.status}`);
    const { group, consumer, batch, claimIdleMs } = this.opts;
    let n = 0;
    try {
      await this.ensureGroups();
      await this.opts.beforeRound?.();
      for (const stream of this.opts.streams) {
        if (this.stopped) break;
        const claimed = (await this.redis.xautoclaim(stream, group, consumer, claimIdleMs, '0-0', 'COUNT', batch)) as [
          string,
          StreamEntries,
        ];
        let r = await this.process(stream, claimed[1] ?? []);
        n += r.acked;
        if (!r.complete) continue;
        const mine = (await this.redis.xreadgroup('GROUP', group, consumer, 'COUNT', batch, 'STREAMS', stream, '0')) as Array<
          [string, StreamEntries]
        > | null;
        r = await this.process(stream, mine?.[0]?.[1] ?? []);
        n += r.acked;
        if (!r.complete) continue;
        await this.opts.beforeReadNew?.(stream);
        const fresh = (await this.redis.xreadgroup('GROUP', group, consumer, 'COUNT', batch, 'STREAMS', stream, '>')) as Array<
          [string, StreamEntries]
        > | null;
        n += (await this.process(stream, fresh?.[0]?.[1] ?? [])).acked;
      }
    } catch (err) {
      // a stream or its group removed meanwhile (e.g. a flushed Redis): made again next round
      if (/NOGROUP/.test((err as Error).message)) this.groupsReady = false;
      throw err;
    }
    return n;
  }

  /** In stream order until one is not handled (it and later ones are read again); the handled ones acknowledged at once. */
  private async process(stream: string, entries: StreamEntries): Promise<{ acked: number; complete: boolean }> {
    const done: string[] = [];
    let complete = true;
    try {
      for (const [id, fields] of entries) {
        if (this.stopped || !(await this.handleEntry(stream, id, fields))) {
          complete = false;
          break;
        }
        done.push(id);
      }
    } finally {
      if (done.length) await this.redis.xack(stream, this.opts.group, ...done);
      this.handled += done.length;
    }
    return { acked: done.length, complete };
  }

  /** Whether the entry may be acknowledged: handled, skipped, or given up on. */
  private async handleEntry(stream: string, id: string, fields: string[] | null): Promise<boolean> {
    const { types, onOutcome } = this.opts;
    const skip = (event: DomainEvent | null) => {
      onOutcome?.({ stream, id, event, outcome: 'skipped' });
      return true;
    };
    if (fields && types && !types.has(fields[fields.indexOf('type') + 1] ?? '')) return skip(null);
    const event = parseStreamEntry(id, fields, this.log);
    if (!event) return skip(null);
    const key = `${stream}:${id}`;
    try {
      // in a span under the change that caused the event (its `traceparent` field), while tracing is on
      const traceparent = entryField(fields!, 'traceparent');
      const result = await traceStreamEntry({ stream, group: this.opts.group, id, type: event.type, traceparent }, () =>
        this.opts.handle(event, { stream, id }),
      );
      this.failures.delete(key);
      onOutcome?.({ stream, id, event, outcome: 'ok', ...(typeof result === 'string' ? { result } : {}) });
      return true;
    } catch (err) {
      onOutcome?.({ stream, id, event, outcome: 'error' });
      const at = { err, stream, type: event.type, eventId: event.id };
      // an unavailable store or service: wait for it however long (nothing is dropped)
      if (this.opts.isTransient(err)) {
        this.waiting = true;
        this.log.debug(at, 'event waits for an unavailable dependency');
        return false;
      }
      // anything else (a bug, a malformed payload) would block the stream for ever: give up after maxTries
      const tries = (this.failures.get(key) ?? 0) + 1;
      if (tries < this.opts.maxTries) {
        this.failures.delete(key);
        this.failures.set(key, tries);
        if (this.failures.size > MAX_REMEMBERED_FAILURES) this.failures.delete(this.failures.keys().next().value!);
        this.log.warn({ ...at, tries }, 'event not handled yet; will retry');
        return false;
      }
      this.failures.delete(key);
      this.dropped++;
      this.log.error({ ...at, tries }, 'event dropped after repeated failures');
      onOutcome?.({ stream, id, event, outcome: 'dropped' });
      return true;
    }
  }

  /** Per stream: entries not yet delivered to the group (lag) and delivered but unacknowledged (pending). */
  async lag(): Promise<Record<string, { lag: number; pending: number }>> {
    const out: Record<string, { lag: number; pending: number }> = {};
    for (const stream of this.opts.streams) {
      const groups = (await this.redis.call('XINFO', 'GROUPS', rawStreamKey(this.redis, stream)).catch(() => [])) as unknown[][];
      for (const g of groups) {
        const get = (k: string) => g[g.indexOf(k) + 1];
        if (get('name') === this.opts.group) out[stream] = { lag: Number(get('lag') ?? 0), pending: Number(get('pending') ?? 0) };
      }
    }
    return out;
  }

  private registerLagGauges({ registry, prefix }: { registry: client.Registry; prefix: string }): void {
    const lag = () => this.lag().catch(() => ({}) as Record<string, { lag: number; pending: number }>);
    new client.Gauge({
      name: `${prefix}_consumer_lag`,
      help: `Entries of each stream not yet delivered to the ${this.opts.group} group (XINFO GROUPS lag)`,
      labelNames: ['stream'],
      registers: [registry],
      async collect() {
        for (const [stream, s] of Object.entries(await lag())) this.set({ stream }, s.lag);
      },
    });
    new client.Gauge({
      name: `${prefix}_consumer_pending`,
      help: `Entries of each stream delivered to the ${this.opts.group} group and not yet acknowledged`,
      labelNames: ['stream'],
      registers: [registry],
      async collect() {
        for (const [stream, s] of Object.entries(await lag())) this.set({ stream }, s.pending);
      },
    });
    const group = this.opts.group;
    const samples = async (field: 'lag' | 'pending') =>
      Object.entries(await lag()).map(([stream, s]) => ({ labels: { group, stream }, value: s[field] }));
    addGaugeSource(
      registry,
      {
        name: 'stream_consumer_lag',
        help: 'Entries of a stream not yet delivered to a consumer group (XINFO GROUPS lag)',
        labelNames: ['group', 'stream'],
      },
      () => samples('lag'),
    );
    addGaugeSource(
      registry,
      {
        name: 'stream_consumer_pending',
        help: 'Entries of a stream delivered to a consumer group and not yet acknowledged',
        labelNames: ['group', 'stream'],
      },
      () => samples('pending'),
    );
  }

  /** Stops after the entry in hand (acknowledged if handled); resolves once nothing runs and no timer is left. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
