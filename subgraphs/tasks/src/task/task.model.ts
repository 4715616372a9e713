import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { OutboxFields } from '@tm/kit/infra';
import { Directive, Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { TaskPriority, TaskStatus } from './task.enums';

/** Far-future stand-in for "no due date", so due-date order and cursors need no null handling. */
export const NO_DUE_DATE = new Date('9999-12-31T00:00:00.000Z');

/** A task on a project's board. Hidden fields: sort keys, soft delete, outbox. */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'A task on a project board' })
// every query of the tasks service has its index here (filter fields, then sort fields):
// a board column (project + status, by position; end-of-column, neighbours, rebalance) and the
// invariant "distinct positions in a column" (deleted tasks get unique negative positions)
@index({ projectId: 1, status: 1, position: 1 }, { unique: true })
// Project.tasks in each order (filters on status, assignee, due date, labels narrow these)
@index({ projectId: 1, deletedAt: 1, position: 1, _id: 1 })
@index({ projectId: 1, deletedAt: 1, createdAt: 1, _id: 1 })
@index({ projectId: 1, deletedAt: 1, updatedAt: 1, _id: 1 })
@index({ projectId: 1, deletedAt: 1, dueSort: 1, _id: 1 })
@index({ projectId: 1, deletedAt: 1, priorityRank: 1, _id: 1 })
// User.assignedTasks (soonest due first, projects the caller sees)
@index({ assigneeId: 1, deletedAt: 1, dueSort: 1, _id: 1 })
// Task.subtasks and the descendants of a deleted task
@index({ parentId: 1, deletedAt: 1, position: 1, _id: 1 })
// the outbox relay's sweep, and the start-up backfill of comment counts
@index({ hasPending: 1 })
@index({ commentCount: 1, deletedAt: 1 })
@modelOptions({ schemaOptions: { collection: 'tasks', timestamps: true, versionKey: false } })
export class Task extends OutboxFields {
  @Field(() => ID, { name: 'id' })
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public projectId!: string;

  @Field()
  @prop({ type: String, required: true })
  public title!: string;

  @Field(() => String, { nullable: true })
  @prop({ type: String })
  public description?: string | null;

  @Field(() => TaskStatus)
  @prop({ type: String, enum: TaskStatus, required: true })
  public status!: TaskStatus;

  @Field(() => TaskPriority)
  @prop({ type: String, enum: TaskPriority, required: true })
  public priority!: TaskPriority;

  @prop({ type: Number, required: true })
  public priorityRank!: number;

  @prop({ type: String })
  public assigneeId?: string | null;

  @prop({ type: String, required: true })
  public reporterId!: string;

  @Field(() => Date, { nullable: true })
  @prop({ type: Date })
  public dueDate?: Date | null;

  @prop({ type: Date, required: true })
  public dueSort!: Date;

  @Field(() => [String])
  @prop({ type: () => [String], default: [] })
  public labels!: string[];

  @prop({ type: String })
  public parentId?: string | null;

  @Field(() => Float, { description: 'Board order within the status column' })
  @prop({ type: Number, required: true })
  public position!: number;

  @Field(() => Int, { description: 'Bumped by every change; pass it as expectedVersion to avoid overwriting others' })
  @prop({ type: Number, default: 1 })
  public version!: number;

  @Field(() => Date, { nullable: true })
  @prop({ type: Date })
  public completedAt?: Date | null;

  /** Comments on the task, kept by CommentCounts (`$inc` per comment); trusted only when a number (else counted). */
  @prop({ type: Number })
  public commentCount?: number | null;

  @Field(() => Date)
  public createdAt!: Date;

  @Field(() => Date)
  public updatedAt!: Date;
}

export const TaskModel = getModelForClass(Task);
