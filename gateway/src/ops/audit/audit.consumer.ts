import { hostname } from 'node:os';
import { AUDIT_STREAM, type Logger, type Redis } from '@tm/kit/infra';
import { AuditEntryModel } from './audit.model';

export const AUDIT_GROUP = 'ops-audit';
/** A record delivered to a gateway that died before storing it is taken over after this long. */
const CLAIM_IDLE_MS = 30_000;

type StreamEntries = Array<[id: string, fields: string[]]>;

/**
 * Copies the `events:audit` stream into the ops plane's collection: a consumer group shared by
 * every gateway process (each record handled by one), at-least-once (acknowledged only once
 * stored; pending records of a dead consumer are claimed), idempotent (upsert by record id).
 * Polls, so it never holds the shared Redis connection in a blocking read.
 */
export class AuditConsumer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly consumer = `${hostname()}-${process.pid}`;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly mongoUp: () => boolean,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.poll()
        .then(() => undefined)
        .catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'audit stream poll failed'))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    tick();
  }

  private groupReady = false;

  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      // ioredis does not apply its key prefix to XGROUP's key: add it here
      await this.redis.xgroup('CREATE', `${this.redis.options.keyPrefix ?? ''}${AUDIT_STREAM}`, AUDIT_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.groupReady = true;
  }

  /** One round: take over stale pending records, read new ones, store, acknowledge. */
  async poll(): Promise<number> {
    if (!this.mongoUp() || this.redis.status !== 'ready') return 0;
    await this.ensureGroup();
    let stored = 0;
    const claimed = (await this.redis.xautoclaim(
      AUDIT_STREAM,
      AUDIT_GROUP,
      this.consumer,
      CLAIM_IDLE_MS,
      '0-0',
      'COUNT',
      100,
    )) as [string, StreamEntries];
    stored += await this.store(claimed[1] ?? []);
    // records delivered to this consumer earlier but not acknowledged (e.g. the store was down)
    const mine = (await this.redis.xreadgroup(
      'GROUP',
      AUDIT_GROUP,
      this.consumer,
      'COUNT',
      100,
      'STREAMS',
      AUDIT_STREAM,
      '0',
    )) as Array<[string, StreamEntries]> | null;
    stored += await this.store(mine?.[0]?.[1] ?? []);
    const fresh = (await this.redis.xreadgroup(
      'GROUP',
      AUDIT_GROUP,
      this.consumer,
      'COUNT',
      200,
      'STREAMS',
      AUDIT_STREAM,
      '>',
    )) as Array<[string, StreamEntries]> | null;
    stored += await this.store(fresh?.[0]?.[1] ?? []);
    return stored;
  }

  private async store(entries: StreamEntries): Promise<number> {
    let n = 0;
    for (const [id, fields] of entries) {
      if (!fields) continue; // deleted from the stream meanwhile
      const raw = fields[fields.indexOf('record') + 1];
      let record: Record<string, unknown> | null = null;
      try {
        record = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
      } catch {
        record = null;
      }
      if (record && typeof record._id === 'string' && typeof record.action === 'string') {
        const { _id, ...rest } = record;
        await AuditEntryModel.updateOne(
          { _id },
          { $setOnInsert: { ...rest, at: new Date(String(record.at)), receivedAt: new Date() } },
          { upsert: true },
        );
        n++;
      } else {
        this.log.warn({ streamId: id }, 'malformed audit record skipped');
      }
      await this.redis.xack(AUDIT_STREAM, AUDIT_GROUP, id);
    }
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
