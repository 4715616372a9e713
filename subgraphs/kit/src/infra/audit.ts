import { randomUUID } from 'node:crypto';
import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { classify } from '../contracts/errors';
import type { Logger } from './logger';
import type { Redis } from './redis';
import type { UserContext } from './signed-context';

/** The stream every service appends its audit records to (read by the ops plane). */
export const AUDIT_STREAM = 'events:audit';

/** One admin action: who, what, with which arguments (secrets removed), when, and how it ended. */
@index({ at: -1 })
@modelOptions({ schemaOptions: { collection: 'auditRecords', versionKey: false } })
export class AuditRecord {
  @prop({ type: String, default: () => randomUUID() })
  public _id!: string;

  @prop({ type: Date, required: true })
  public at!: Date;

  @prop({ type: String, required: true })
  public service!: string;

  @prop({ type: String })
  public actorId?: string | null;

  @prop({ type: String, required: true })
  public action!: string;

  /** JSON of the arguments with secret-looking keys removed. */
  @prop({ type: String, required: true })
  public args!: string;

  @prop({ type: String })
  public correlationId?: string;

  /** `pending` while the action runs (written before it starts), then `ok` or `error`. */
  @prop({ type: String, required: true, enum: ['pending', 'ok', 'error'] })
  public result!: 'pending' | 'ok' | 'error';

  @prop({ type: String })
  public errorCode?: string;
}

export const AuditRecordModel = getModelForClass(AuditRecord);

const SECRET_KEY = /pass|token|secret|code|key|hash/i;

/** Arguments fit for an audit record: secret-looking keys dropped, long strings cut. */
export function auditArgs(args: Record<string, unknown>): string {
  return JSON.stringify(args, (k, v: unknown) => {
    if (k && SECRET_KEY.test(k)) return '[redacted]';
    return typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v;
  });
}

/**
 * Writes audit records durably (the service's own `auditRecords` collection) and appends them
 * to the audit stream for the ops plane. Use `run` around every admin action (reads included).
 */
export class AuditLog {
  constructor(
    private readonly service: string,
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  /**
   * Records the action before it runs (`pending`), runs it, then completes the record (`ok` or
   * `error` with the code). When the first write fails the action does not run: the caller gets
   * the store's error (DB-001), so no admin action is ever done unrecorded. A failed completion
   * leaves the durable record `pending` (logged) and still reaches the ops plane's stream.
   */
  async run<T>(
    who: { user: UserContext; correlationId: string },
    action: string,
    args: Record<string, unknown>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const record: AuditEntryRecord = {
      _id: randomUUID(),
      at: new Date(),
      service: this.service,
      actorId: who.user.userId,
      action,
      args: auditArgs(args),
      correlationId: who.correlationId,
      result: 'pending',
    };
    try {
      await AuditRecordModel.create(record);
    } catch (err) {
      this.log.error({ err, action }, 'audit record not written; action refused');
      throw classify(err) ?? err;
    }
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await this.complete(record, 'error', classify(err)?.code ?? 'SYS-002');
      throw err;
    }
    await this.complete(record, 'ok');
    return result;
  }

  private async complete(record: AuditEntryRecord, result: 'ok' | 'error', errorCode?: string): Promise<void> {
    const done: AuditEntryRecord = { ...record, result, ...(errorCode ? { errorCode } : {}) };
    try {
      await AuditRecordModel.updateOne({ _id: record._id }, { $set: { result, ...(errorCode ? { errorCode } : {}) } });
    } catch (err) {
      // the action ran: the durable record says `pending` (it was written before), the stream says how it ended
      this.log.error({ err, action: record.action, auditId: record._id }, 'audit record not completed; it stays pending');
    }
    try {
      await this.redis.xadd(AUDIT_STREAM, 'MAXLEN', '~', '100000', '*', 'record', JSON.stringify(done));
    } catch (err) {
      // the durable copy is in Mongo; the stream is for the ops plane's live view
      this.log.warn({ err, action: record.action }, 'audit stream append failed');
    }
    this.log.info({ action: record.action, actorId: record.actorId, result, errorCode }, 'audit');
  }
}

interface AuditEntryRecord {
  _id: string;
  at: Date;
  service: string;
  actorId: string | null;
  action: string;
  args: string;
  correlationId: string;
  result: 'pending' | 'ok' | 'error';
  errorCode?: string;
}
