import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { ReportFormat, ReportKind, ReportStatus } from './report.enums';

/** An asynchronous report of a project's tasks. Hidden: where the file is, who asked, the cancel mark. */
@ObjectType({ description: 'An asynchronous report (requestReport); poll reportJob(id) for progress and the download URL' })
// the sweep: finished reports past their expiry, old records; the metrics: jobs by state; a user's running jobs
@index({ status: 1, expiresAt: 1 })
@index({ status: 1, finishedAt: 1 })
@index({ requesterId: 1, status: 1 })
@modelOptions({ schemaOptions: { collection: 'report_jobs', timestamps: true, versionKey: false } })
export class ReportJob {
  @Field(() => ID, { name: 'id' })
  @prop({ type: String, required: true })
  public _id!: string;

  @Field(() => ID)
  @prop({ type: String, required: true })
  public projectId!: string;

  @prop({ type: String, required: true })
  public requesterId!: string;

  @Field(() => ReportKind)
  @prop({ type: String, enum: ReportKind, required: true })
  public kind!: ReportKind;

  @Field(() => ReportFormat)
  @prop({ type: String, enum: ReportFormat, required: true })
  public format!: ReportFormat;

  @Field(() => Date, { nullable: true })
  @prop({ type: Date, default: null })
  public from?: Date | null;

  @Field(() => Date)
  @prop({ type: Date, required: true })
  public to!: Date;

  @Field(() => ReportStatus)
  @prop({ type: String, enum: ReportStatus, required: true })
  public status!: ReportStatus;

  @Field(() => Float, { description: '0 to 1' })
  @prop({ type: Number, default: 0 })
  public progress!: number;

  @Field(() => Int, { description: 'Rows written so far' })
  @prop({ type: Number, default: 0 })
  public rowCount!: number;

  @Field(() => String, { nullable: true, description: 'Why it failed (FAILED only)' })
  @prop({ type: String, default: null })
  public error?: string | null;

  /** The stored report's key (COMPLETED only). */
  @prop({ type: String, default: null })
  public storageKey?: string | null;

  @Field(() => Date, { nullable: true })
  @prop({ type: Date, default: null })
  public finishedAt?: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the file is removed (COMPLETED only)' })
  @prop({ type: Date, default: null })
  public expiresAt?: Date | null;

  @Field(() => Date)
  public createdAt!: Date;

  @Field(() => Date)
  public updatedAt!: Date;
}

export const ReportJobModel = getModelForClass(ReportJob);
