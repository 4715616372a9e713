import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { UserRef } from '../user/user.ref';

/**
 * One notification of one recipient. `dedupeKey` (unique) names its cause (event id, recipient,
 * kind), so an event handled twice makes it once. Hidden: the cause, the channels' bookkeeping.
 */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'A notification for one user' })
// User.notifications: newest first, per recipient (and the unread count)
@index({ recipientId: 1, createdAt: -1, _id: -1 })
@index({ recipientId: 1, read: 1 })
@index({ dedupeKey: 1 }, { unique: true })
// the daily digest's collection
@index({ digestPending: 1, recipientId: 1 })
@modelOptions({
  schemaOptions: { collection: 'notifications', timestamps: { createdAt: true, updatedAt: false }, versionKey: false },
})
export class Notification {
  @Field(() => ID, { name: 'id' })
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public recipientId!: string;

  @Field({
    description:
      'TASK_ASSIGNED, TASK_COMMENT, MENTIONED, PROJECT_MEMBER_ADDED, PROJECT_ROLE_CHANGED, TASK_DUE_SOON, FILE_INFECTED or SYSTEM',
  })
  @prop({ type: String, required: true })
  public kind!: string;

  @Field()
  @prop({ type: String, required: true })
  public title!: string;

  @Field(() => String, { nullable: true })
  @prop({ type: String, default: null })
  public body?: string | null;

  @Field(() => String, { nullable: true, description: 'Where the web app shows what it is about' })
  @prop({ type: String, default: null })
  public link?: string | null;

  @Field({ description: 'SYSTEM notifications: INFO, WARNING or CRITICAL; others INFO' })
  @prop({ type: String, default: 'INFO' })
  public level!: string;

  @Field()
  @prop({ type: Boolean, default: false })
  public read!: boolean;

  @prop({ type: String, required: true })
  public dedupeKey!: string;

  /** Who caused it (never its recipient). */
  @prop({ type: String, default: null })
  public actorId?: string | null;

  @prop({ type: String, default: null })
  public taskId?: string | null;

  @prop({ type: String, default: null })
  public projectId?: string | null;

  /** False when the recipient turned in-app off for its kind: kept for email/push, never listed. */
  @prop({ type: Boolean, default: true })
  public inApp!: boolean;

  /** Waiting for the recipient's daily digest email. */
  @prop({ type: Boolean, default: false })
  public digestPending!: boolean;

  @Field(() => Date)
  public createdAt!: Date;
}

export const NotificationModel = getModelForClass(Notification);

/** The recipient as a federation reference. */
export function recipientOf(n: Pick<Notification, 'recipientId'>): UserRef {
  return { id: n.recipientId };
}
