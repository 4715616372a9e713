import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { Field, ObjectType } from 'type-graphql';
import { ProjectRole } from '../project/project-role';

/**
 * One user's membership of one project. Its own collection (not an array in the project), so a
 * change touches one small document: `_id` is `<projectId>:<userId>`.
 */
@ObjectType({ description: 'A member of a project and their role' })
@index({ userId: 1 })
@index({ projectId: 1, addedAt: 1 })
@modelOptions({ schemaOptions: { collection: 'projectMembers', versionKey: false } })
export class ProjectMember {
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public projectId!: string;

  @prop({ type: String, required: true })
  public userId!: string;

  @Field(() => ProjectRole)
  @prop({ type: String, enum: ProjectRole, required: true })
  public role!: ProjectRole;

  @Field(() => Date)
  @prop({ type: Date, required: true })
  public addedAt!: Date;
}

export const ProjectMemberModel = getModelForClass(ProjectMember);
export const memberId = (projectId: string, userId: string) => `${projectId}:${userId}`;
