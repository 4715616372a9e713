import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';

/**
 * What notifications knows of a task, kept from the tasks stream (`state` of each task event):
 * whom a comment concerns and which tasks fall due. Written only by a newer version than it holds.
 */
@index({ dueDate: 1, deleted: 1 })
@modelOptions({ schemaOptions: { collection: 'taskInfo', versionKey: false } })
export class TaskInfo {
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public projectId!: string;

  @prop({ type: String, default: '' })
  public title!: string;

  @prop({ type: String, default: null })
  public assigneeId?: string | null;

  @prop({ type: String, default: null })
  public reporterId?: string | null;

  @prop({ type: Date, default: null })
  public dueDate?: Date | null;

  @prop({ type: String, default: 'TODO' })
  public status!: string;

  @prop({ type: Number, default: 0 })
  public version!: number;

  @prop({ type: Boolean, default: false })
  public deleted!: boolean;

  /** People mentioned in its comments: later comments concern them too. */
  @prop({ type: () => [String], default: [] })
  public mentionedIds!: string[];

  /** The due date a due-soon notice was made for (once per task and due date). */
  @prop({ type: Date, default: null })
  public dueNotifiedFor?: Date | null;
}

export const TaskInfoModel = getModelForClass(TaskInfo);
