import { index, modelOptions, prop } from '@typegoose/typegoose';

/**
 * What analytics knows of one task: its state as the newest event seen for it left it (never
 * rolled back by an older event), plus times kept order-independently (`$min`). Never part of
 * the API; the tasks subgraph's collections are never read.
 */
// Project.metrics: the project's active facts, by creation time and by completion time
@index({ projectId: 1, active: 1, createdAt: 1 })
@index({ projectId: 1, active: 1, completedAt: 1 })
// daily buckets are recounted from the facts of one (project, day)
@index({ projectId: 1, active: 1, completedDay: 1 })
// User.workload
@index({ assigneeId: 1, active: 1, status: 1, projectId: 1 })
// buckets left to recount after a crash
@index({ dirty: 1 })
@modelOptions({ schemaOptions: { versionKey: false } })
export class TaskFact {
  /** The task id. */
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public projectId!: string;

  /** The task's version in the newest event applied; a deleted task holds the largest number (a tombstone). */
  @prop({ type: Number, required: true })
  public version!: number;

  /** Known (an event with its state was applied) and not deleted: what every answer counts. */
  @prop({ type: Boolean, required: true })
  public active!: boolean;

  @prop({ type: Boolean, default: false })
  public deleted!: boolean;

  @prop({ type: String })
  public title?: string;

  @prop({ type: String })
  public status?: string;

  @prop({ type: String })
  public priority?: string;

  @prop({ type: String, default: null })
  public assigneeId?: string | null;

  @prop({ type: Date, default: null })
  public dueDate?: Date | null;

  /** The earliest time seen for the task's creation. */
  @prop({ type: Date })
  public createdAt?: Date;

  /** When the task became DONE (null unless DONE now). */
  @prop({ type: Date, default: null })
  public completedAt?: Date | null;

  /** `completedAt`'s UTC day (YYYY-MM-DD): the daily bucket it counts in. */
  @prop({ type: String, default: null })
  public completedDay?: string | null;

  /**
   * The earliest event that showed the task IN_PROGRESS (start of its cycle time). Absent until
   * then, never null: `$min` keeps a null (null sorts before every date).
   */
  @prop({ type: Date })
  public firstInProgressAt?: Date | null;

  @prop({ type: String })
  public lastEventId?: string;

  /** Days whose bucket this fact's last change touched and that are not recounted yet. */
  @prop({ type: () => [String], default: [] })
  public dirtyDays!: string[];

  @prop({ type: Boolean, default: false })
  public dirty!: boolean;
}

/** Per project and UTC day: tasks whose completion falls on that day (recounted from the facts). */
@index({ projectId: 1, day: 1 })
@modelOptions({ schemaOptions: { versionKey: false } })
export class DailyBucket {
  /** `<projectId>:<day>`. */
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public projectId!: string;

  @prop({ type: String, required: true })
  public day!: string;

  @prop({ type: Number, required: true })
  public completed!: number;
}

/** The UTC day (YYYY-MM-DD) of a time. */
export const dayOf = (d: Date): string => d.toISOString().slice(0, 10);
