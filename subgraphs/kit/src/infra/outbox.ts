import { randomUUID } from 'node:crypto';
import { prop } from '@typegoose/typegoose';
import type { Model } from 'mongoose';
import { livePubSub, type DomainEvent, type EventPublisher } from './events';
import type { Logger } from './logger';
import { addGaugeSource, type Metrics } from './metrics';
import type { Redis } from './redis';
import { currentTraceparent } from './tracing';

/**
 * An event waiting inside the document it is about. It is written by the same single-document
 * update as the change itself (atomic without transactions), so a change and its event cannot be
 * separated: a crash or a Redis outage only delays the event, the relay sends it later.
 */
export class PendingEvent {
  @prop({ type: String, required: true })
  public id!: string;

  @prop({ type: String, required: true })
  public type!: string;

  /** JSON of the DomainEvent. */
  @prop({ type: String, required: true })
  public event!: string;

  /** Live-update channel and message, when the change is also shown live. */
  @prop({ type: String })
  public channel?: string;

  @prop({ type: String })
  public message?: string;

  /** W3C trace context of the change (while tracing is on): the stream entry carries it when the relay sends it later. */
  @prop({ type: String })
  public traceparent?: string;
}

/**
 * Base class for a typegoose model that carries an outbox: soft delete (so a delete's event can
 * wait in the document) and the pending events. No `@Field`s: never part of the API.
 */
export class OutboxFields {
  @prop({ type: Date, default: null })
  public deletedAt?: Date | null;

  @prop({ type: () => [PendingEvent], _id: false, default: [] })
  public pendingEvents!: PendingEvent[];

  @prop({ type: Boolean, default: false })
  public hasPending!: boolean;
}

/** Fields a document needs to carry an outbox. */
export interface WithOutbox {
  _id: string;
  pendingEvents?: PendingEvent[];
  hasPending?: boolean;
  deletedAt?: Date | null;
}

export function pendingEvent(
  type: string,
  payload: Record<string, unknown>,
  meta: { actorId: string | null; correlationId: string | null },
  live?: { channel: string; message: Record<string, unknown> },
): PendingEvent {
  const event: DomainEvent = {
    id: randomUUID(),
    type,
    at: new Date().toISOString(),
    actorId: meta.actorId,
    correlationId: meta.correlationId,
    payload,
  };
  const traceparent = currentTraceparent();
  return {
    id: event.id,
    type,
    event: JSON.stringify(event),
    ...(traceparent ? { traceparent } : {}),
    ...(live ? { channel: live.channel, message: JSON.stringify({ ...live.message, eventId: event.id }) } : {}),
  };
}

/** The update operators that add events to a document's outbox (merge into the change's update). */
export function outboxPush(events: PendingEvent[]): {
  $push: { pendingEvents: { $each: PendingEvent[] } };
  $set: { hasPending: true };
} {
  return { $push: { pendingEvents: { $each: events } }, $set: { hasPending: true } };
}

/**
 * Sends outbox events to the domain stream and the live channel, then removes them; a document
 * marked deleted is removed for good once its events are out. `flush` runs right after a change;
 * sweeps catch what a crash or an outage left behind: every `intervalMs` while this process is
 * behind (just started, a flush failed, Redis had trouble, the last sweep found something), every
 * `idleMs` otherwise (what another process's crash left). A sweep reads `{ hasPending: true }`
 * (declare an index on `hasPending` in the model).
 *
 * No lock: clearing is MongoDB's single-document atomicity. Sent events are pulled by id (an event
 * pushed meanwhile by another writer stays), and `hasPending` is cleared, or a deleted document
 * removed, only by an update whose filter says the outbox is empty. Two processes flushing one
 * document at once may both send an event: delivery is at-least-once and every consumer is
 * idempotent by event id. Within a process, flushes of one document run one at a time.
 */
export class OutboxRelay<T extends WithOutbox> {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;
  private schedule: { intervalMs: number; idleMs: number; waitingIdle: boolean } | undefined;
  /** Documents of this process may hold unsent events (true until the first sweep). */
  private behind = true;
  /** Per document: the flush running now, and whether another was asked for meanwhile. */
  private readonly flushing = new Map<string, { run: Promise<void>; again: boolean }>();

  constructor(
    private readonly model: Model<T>,
    private readonly publisher: EventPublisher,
    private readonly redis: Redis,
    private readonly log: Logger,
    metrics?: Pick<Metrics, 'registry'>,
  ) {
    // the backlog: documents of this collection still holding unsent events (the sweep's indexed filter)
    if (metrics)
      addGaugeSource(
        metrics.registry,
        {
          name: 'outbox_pending_documents',
          help: 'Documents holding outbox events not yet sent to the stream, by collection',
          labelNames: ['collection'],
        },
        async () => [
          {
            labels: { collection: model.collection.collectionName },
            value: await model.countDocuments({ hasPending: true } as never),
          },
        ],
      );
  }

  /** Any trouble on the Redis connection: writes meanwhile may have kept their events (sweep soon). */
  private readonly onRedisTrouble = () => this.markBehind();

  /**
   * Sends the document's pending events. A flush asked for while one of the same document runs in
   * this process runs once more after it (so events pushed meanwhile are not left for the sweep).
   * `written`: the document's outbox as the caller's update returned it (the store's answer to
   * that write): its events are sent without reading the document again; a second round, if any,
   * reads it.
   */
  flush(id: string, written?: Pick<WithOutbox, 'pendingEvents' | 'deletedAt'>): Promise<void> {
    const running = this.flushing.get(id);
    if (running) {
      running.again = true;
      return running.run;
    }
    const entry = { run: Promise.resolve(), again: false };
    entry.run = (async () => {
      try {
        let known = written;
        do {
          entry.again = false;
          await this.flushOnce(id, known);
          known = undefined;
        } while (entry.again);
      } finally {
        this.flushing.delete(id);
      }
    })().catch((err: unknown) => {
      this.markBehind(); // the document keeps its events: sweep soon
      throw err;
    });
    this.flushing.set(id, entry);
    return entry.run;
  }

  private async flushOnce(id: string, known?: Pick<WithOutbox, 'pendingEvents' | 'deletedAt'>): Promise<void> {
    const doc = known ?? (await this.model.findById(id, { pendingEvents: 1, deletedAt: 1 }).lean<WithOutbox>());
    if (!doc) return;
    const pending = doc.pendingEvents ?? [];
    const sent: string[] = [];
    for (const p of pending) {
      try {
        await this.publisher.append(JSON.parse(p.event) as DomainEvent, p.traceparent);
        if (p.channel && p.message) await livePubSub(this.redis).publish(p.channel, p.message);
        sent.push(p.id);
      } catch (err) {
        this.log.warn({ err, eventId: p.id }, 'outbox event not sent yet; will retry');
        break; // keep the order: later events wait for earlier ones
      }
    }
    if (sent.length < pending.length) this.markBehind();
    if (sent.length)
      await this.model.updateOne({ _id: id } as never, { $pull: { pendingEvents: { id: { $in: sent } } } } as never);
    if (sent.length < pending.length) return;
    // only while nothing was pushed meanwhile (the filter decides, atomically)
    const empty = { _id: id, pendingEvents: { $size: 0 } };
    if (doc.deletedAt) await this.model.deleteOne({ ...empty, deletedAt: { $ne: null } } as never);
    else await this.model.updateOne({ ...empty, hasPending: true } as never, { $set: { hasPending: false } } as never);
  }

  /** Flushes after the caller's change, never failing it (the sweep retries). */
  async flushQuietly(id: string, written?: Pick<WithOutbox, 'pendingEvents' | 'deletedAt'>): Promise<void> {
    try {
      await this.flush(id, written);
    } catch (err) {
      this.log.warn({ err }, 'outbox flush failed; the sweep will retry');
    }
  }

  /** Flushes documents with events left behind; one sweep at a time (a second call meanwhile returns 0). */
  sweep(): Promise<number> {
    if (this.sweeping) return Promise.resolve(0);
    this.sweeping = this.sweepOnce().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<number> {
    const docs = await this.model
      .find({ hasPending: true } as never, { _id: 1 })
      .limit(200)
      .lean<Array<{ _id: string }>>();
    for (const d of docs) await this.flush(d._id);
    return docs.length;
  }

  /** Sweeps every `intervalMs` while behind, every `idleMs` (default: the same) otherwise. */
  start(intervalMs = 2000, idleMs = intervalMs): void {
    this.schedule = { intervalMs, idleMs: Math.max(idleMs, intervalMs), waitingIdle: false };
    this.redis.on('error', this.onRedisTrouble);
    this.redis.on('reconnecting', this.onRedisTrouble);
    this.next();
  }

  private next(): void {
    const schedule = this.schedule;
    if (!schedule) return;
    schedule.waitingIdle = !this.behind;
    this.timer = setTimeout(() => void this.tick(), this.behind ? schedule.intervalMs : schedule.idleMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.behind = false; // set again by any flush that fails during the sweep
    try {
      if ((await this.sweep()) > 0) this.behind = true; // look again soon: more may be left (batches of 200)
    } catch (err) {
      this.behind = true;
      this.log.debug({ err }, 'outbox sweep failed');
    }
    this.next();
  }

  /** Something of this process is not sent yet: sweep at the short interval from now on. */
  private markBehind(): void {
    this.behind = true;
    if (this.schedule?.waitingIdle && this.timer) {
      clearTimeout(this.timer);
      this.next();
    }
  }

  /** Stops the sweeps and waits for one in progress (call before closing the stores). */
  async stop(): Promise<void> {
    this.schedule = undefined;
    this.redis.off('error', this.onRedisTrouble);
    this.redis.off('reconnecting', this.onRedisTrouble);
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sweeping?.catch(() => 0);
  }
}
