import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';

/** A project's members as notifications knows them (projects stream): who can be @mentioned. */
@index({ projectId: 1 })
@modelOptions({ schemaOptions: { collection: 'projectMembers', versionKey: false } })
export class ProjectMember {
  /** `<projectId>:<userId>` */
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public projectId!: string;

  @prop({ type: String, required: true })
  public userId!: string;

  @prop({ type: String, required: true })
  public role!: string;
}

export const ProjectMemberModel = getModelForClass(ProjectMember);
