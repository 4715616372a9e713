import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { OutboxFields } from '@tm/kit/infra';
import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import { FileStatus } from './file.enums';

/**
 * A file attached to a task. Its bytes live in the storage (never in GraphQL); the record says
 * where (`key`), whose project decides who sees it, and how far scanning got. Hidden fields:
 * storage keys, expiry, scan details, outbox.
 */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'A file attached to a task; bytes move through short-lived signed URLs' })
// Task.attachments (one query per page of tasks), newest last
@index({ taskId: 1, deletedAt: 1, createdAt: 1 })
// task and project deletion, the quota's recount
@index({ projectId: 1, deletedAt: 1 })
// the sweeps: pending uploads past their expiry, files stuck in a status
@index({ status: 1, expiresAt: 1 })
// the outbox relay's sweep
@index({ hasPending: 1 })
@modelOptions({ schemaOptions: { collection: 'files', timestamps: true, versionKey: false } })
export class File extends OutboxFields {
  @Field(() => ID, { name: 'id' })
  @prop({ type: String, required: true })
  public _id!: string;

  @Field({ description: 'The file name as uploaded (no path)' })
  @prop({ type: String, required: true })
  public name!: string;

  @Field(() => Int, { description: 'Bytes: as declared until the upload is complete, then as stored' })
  @prop({ type: Number, required: true })
  public size!: number;

  @Field()
  @prop({ type: String, required: true })
  public contentType!: string;

  @prop({ type: String, required: true })
  public taskId!: string;

  @prop({ type: String, required: true })
  public projectId!: string;

  @prop({ type: String, required: true })
  public uploadedById!: string;

  @Field(() => FileStatus)
  @prop({ type: String, enum: FileStatus, required: true })
  public status!: FileStatus;

  /** Where the client uploads (until completeFileUpload moves it to `key`). */
  @prop({ type: String, required: true })
  public uploadKey!: string;

  /** Where the bytes live once the upload is complete (a quarantine key once INFECTED). */
  @prop({ type: String, required: true })
  public key!: string;

  /** PENDING_UPLOAD only: when the upload URL expires and the sweep may remove the record. */
  @prop({ type: Date })
  public expiresAt?: Date | null;

  /** What the scanner found (INFECTED), or why the scan failed (FAILED). Admins only, via events. */
  @prop({ type: String })
  public scanResult?: string | null;

  @prop({ type: Date })
  public scannedAt?: Date | null;

  @Field(() => Date)
  public createdAt!: Date;

  @Field(() => Date)
  public updatedAt!: Date;
}

export const FileModel = getModelForClass(File);

/** File fields never sent to resolvers. */
export const FILE_PROJECTION = { pendingEvents: 0 } as const;
