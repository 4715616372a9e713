import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { OutboxFields } from '@tm/kit/infra';
import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A comment on a task' })
// a task's comments oldest first (first page per task, later pages, counts, deletes by task)
@index({ taskId: 1, deletedAt: 1, createdAt: 1, _id: 1 })
// the outbox relay's sweep
@index({ hasPending: 1 })
@modelOptions({ schemaOptions: { collection: 'comments', timestamps: { createdAt: true, updatedAt: false }, versionKey: false } })
export class Comment extends OutboxFields {
  @Field(() => ID, { name: 'id' })
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public taskId!: string;

  @prop({ type: String, required: true })
  public projectId!: string;

  @prop({ type: String, required: true })
  public authorId!: string;

  @Field()
  @prop({ type: String, required: true })
  public body!: string;

  @Field(() => Date)
  public createdAt!: Date;
}

export const CommentModel = getModelForClass(Comment);
