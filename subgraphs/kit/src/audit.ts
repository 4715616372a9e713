import { randomUUID } from 'node:crypto';
import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { classify } from './errors';
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

  @prop({ type: String, required: true, enum: ['ok', 'error'] })
  public result!: 'ok' | 'error';

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
 * to the audit stream for the ops plane. Use `run` around every admin action.
 */
export class AuditLog {
  constructor(
    private readonly service: string,
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  async run<T>(
    who: { user: UserContext; correlationId: string },
    action: string,
    args: Record<string, unknown>,
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await fn();
      await this.write(who, action, args, 'ok');
      return result;
    } catch (err) {
      await this.write(who, action, args, 'error', classify(err)?.code ?? 'SYS-002').catch(() => undefined);
      throw err;
    }
  }

  private async write(
    who: { user: UserContext; correlationId: string },
    action: string,
    args: Record<string, unknown>,
    result: 'ok' | 'error',
    errorCode?: string,
  ): Promise<void> {
    const record = {
      _id: randomUUID(),
      at: new Date(),
      service: this.service,
      actorId: who.user.userId,
      action,
      args: auditArgs(args),
      correlationId: who.correlationId,
      result,
      ...(errorCode ? { errorCode } : {}),
    };
    await AuditRecordModel.create(record);
    try {
      await this.redis.xadd(AUDIT_STREAM, 'MAXLEN', '~', '100000', '*', 'record', JSON.stringify(record));
    } catch (err) {
      // the durable copy is in Mongo; the stream is for the ops plane's live view
      this.log.warn({ err, action }, 'audit stream append failed');
    }
    this.log.info({ action, actorId: who.user.userId, result, errorCode }, 'audit');
  }
}
