import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { Field, ID, ObjectType } from 'type-graphql';

/**
 * The ops plane's durable audit log: every admin action of every service, copied from the
 * `events:audit` stream (each service also keeps its own records in its `auditRecords`).
 * `_id` is the record's own id, so a record delivered twice is stored once.
 */
@ObjectType({ description: 'One admin action: who, what, with which arguments (secrets removed), when, and how it ended' })
@index({ at: -1, _id: -1 })
@modelOptions({ schemaOptions: { collection: 'opsAuditLog', versionKey: false } })
export class AuditEntry {
  @Field(() => ID, { name: 'id' })
  @prop({ type: String, required: true })
  public _id!: string;

  @Field(() => Date)
  @prop({ type: Date, required: true })
  public at!: Date;

  @Field({ description: 'The service that did it (users, projects, tasks, ops, …)' })
  @prop({ type: String, required: true })
  public service!: string;

  @Field(() => String, { nullable: true, description: 'The admin' })
  @prop({ type: String })
  public actorId?: string | null;

  @Field({ description: 'The operation, e.g. lockUsers or setMaintenanceMode' })
  @prop({ type: String, required: true })
  public action!: string;

  @Field({ description: 'JSON of the arguments, secrets removed' })
  @prop({ type: String, required: true })
  public args!: string;

  @Field(() => String, { nullable: true })
  @prop({ type: String })
  public correlationId?: string | null;

  @Field({ description: 'ok or error' })
  @prop({ type: String, required: true })
  public result!: string;

  @Field(() => String, { nullable: true, description: 'The error code when it failed' })
  @prop({ type: String })
  public errorCode?: string | null;

  /** When the ops plane stored it. */
  @prop({ type: Date })
  public receivedAt?: Date;
}

export const AuditEntryModel = getModelForClass(AuditEntry);
