import { randomUUID } from 'node:crypto';
import { prop } from '@typegoose/typegoose';
import type { Model } from 'mongoose';
import type { DomainEvent, EventPublisher } from './events';
import type { Locks } from './lock';
import type { Logger } from './logger';
import type { Redis } from './redis';

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
  return {
    id: event.id,
    type,
    event: JSON.stringify(event),
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

export interface OutboxRelayOptions {
  /**
   * The lock a flush of document `id` holds (default `outbox:<id>`). Name the lock every other
   * writer of the document holds: a flush updates the document too, and the test store rewrites a
   * whole document on any update, so a flush beside another writer could undo that writer's change.
   * A writer holding it flushes after releasing it (locks are not re-entrant).
   */
  lockOf?: (id: string) => string;
}

/**
 * Sends outbox events to the domain stream and the live channel, then removes them; a document
 * marked deleted is removed for good once its events are out. `flush` runs right after a change;
 * sweeps catch what a crash or an outage left behind: every `intervalMs` while this process is
 * behind (just started, a flush failed, Redis had trouble, the last sweep found something), every
 * `idleMs` otherwise (what another process's crash left). A sweep reads `{ hasPending: true }`: an index on real
 * MongoDB, but the whole collection on the test store, so an idle process sweeps rarely.
 */
export class OutboxRelay<T extends WithOutbox> {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;
  private schedule: { intervalMs: number; idleMs: number; waitingIdle: boolean } | undefined;
  /** Documents of this process may hold unsent events (true until the first sweep). */
  private behind = true;

  constructor(
    private readonly model: Model<T>,
    private readonly publisher: EventPublisher,
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly locks: Locks,
    private readonly opts: OutboxRelayOptions = {},
  ) {}

  /** Any trouble on the Redis connection: writes meanwhile may have kept their events (sweep soon). */
  private readonly onRedisTrouble = () => this.markBehind();

  /** One flusher per document at a time, so an event is not sent twice by two racing flushes. */
  flush(id: string): Promise<void> {
    return this.locks
      .with(this.opts.lockOf?.(id) ?? `outbox:${id}`, () => this.flushLocked(id), { waitMs: 5000 })
      .catch((err: unknown) => {
        this.markBehind(); // the document keeps its events: sweep soon
        throw err;
      });
  }

  private async flushLocked(id: string): Promise<void> {
    const doc = await this.model.findById(id, { pendingEvents: 1, deletedAt: 1 }).lean<WithOutbox>();
    if (!doc) return;
    const pending = doc.pendingEvents ?? [];
    const sent: PendingEvent[] = [];
    for (const p of pending) {
      try {
        await this.publisher.append(JSON.parse(p.event) as DomainEvent);
        if (p.channel && p.message) await this.redis.publish(p.channel, p.message);
        sent.push(p);
      } catch (err) {
        this.log.warn({ err, eventId: p.id }, 'outbox event not sent yet; will retry');
        break; // keep the order: later events wait for earlier ones
      }
    }
    const all = sent.length === pending.length;
    if (!all) this.markBehind();
    if (this.opts.lockOf) {
      // every writer of the document holds this lock, so nothing was pushed meanwhile: one write,
      // filtered on `_id` alone (the test store looks a document up by key only for exactly `{ _id }`)
      if (all && doc.deletedAt) await this.model.deleteOne({ _id: id } as never);
      else if (all && pending.length)
        await this.model.updateOne({ _id: id } as never, { $set: { pendingEvents: [], hasPending: false } } as never);
      else if (all) await this.model.updateOne({ _id: id } as never, { $set: { hasPending: false } } as never);
      else if (sent.length) await this.model.updateOne({ _id: id } as never, { $pullAll: { pendingEvents: sent } } as never);
      return;
    }
    // whole-element match: FerretDB 1.24's $pull takes no conditions on sub-documents
    if (sent.length) await this.model.updateOne({ _id: id } as never, { $pullAll: { pendingEvents: sent } } as never);
    if (all) {
      if (doc.deletedAt) await this.model.deleteOne({ _id: id, pendingEvents: { $size: 0 } } as never);
      else
        await this.model.updateOne({ _id: id, pendingEvents: { $size: 0 } } as never, { $set: { hasPending: false } } as never);
    }
  }

  /** Flushes after the caller's change, never failing it (the sweep retries). */
  async flushQuietly(id: string): Promise<void> {
    try {
      await this.flush(id);
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
