import { getModelForClass, modelOptions, prop } from '@typegoose/typegoose';

/**
 * Bytes a project's files take (pending uploads count with their declared size). Reserved with a
 * conditional `$inc` before an upload URL is issued, so concurrent requests cannot pass the quota
 * together; given back when a file is refused, expires or is deleted.
 */
@modelOptions({ schemaOptions: { collection: 'projectUsage', versionKey: false } })
export class ProjectUsage {
  /** The project id. */
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: Number, required: true, default: 0 })
  public bytes!: number;
}

export const ProjectUsageModel = getModelForClass(ProjectUsage);
