import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { OutboxFields } from '@tm/kit/infra';
import { Field, ObjectType } from 'type-graphql';
import { ProjectRole } from '../project/project.enums';

/**
 * One user's membership of one project. Its own collection (not an array in the project), so a
 * change touches one small document: `_id` is `<projectId>:<userId>`. Hidden: the outbox of its
 * events; a removed membership stays, marked `deletedAt`, until its removal event is out.
 */
@ObjectType({ description: 'A member of a project and their role' })
@index({ userId: 1, deletedAt: 1 })
@index({ projectId: 1, deletedAt: 1, addedAt: 1, _id: 1 })
@index({ hasPending: 1 })
@modelOptions({ schemaOptions: { collection: 'projectMembers', versionKey: false } })
export class ProjectMember extends OutboxFields {
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

/** Filter of memberships in force: every read skips removed ones still waiting for their event. */
export const inForce = { deletedAt: null } as const;

/** What reads return of a membership (not its outbox; an exclusion, so `deletedAt` stays). */
export const MEMBER_PROJECTION = { pendingEvents: 0 } as const;

/** Memberships in force, by id. */
export function membershipsById(ids: readonly string[]): Promise<ProjectMember[]> {
  return ProjectMemberModel.find({ _id: { $in: [...ids] }, ...inForce }, MEMBER_PROJECTION).lean<ProjectMember[]>();
}

export function membershipById(id: string): Promise<ProjectMember | null> {
  return ProjectMemberModel.findOne({ _id: id, ...inForce }, MEMBER_PROJECTION).lean<ProjectMember>();
}
