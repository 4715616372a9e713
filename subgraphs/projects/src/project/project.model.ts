import { getModelForClass, index, modelOptions, prop } from '@typegoose/typegoose';
import { OutboxFields } from '@tm/kit/infra';
import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** A project: the unit of membership and permissions. Hidden: the outbox of its events. */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'A project and its members' })
@index({ ownerId: 1, nameKey: 1 }, { unique: true })
@index({ hasPending: 1 })
@modelOptions({ schemaOptions: { collection: 'projects', timestamps: true, versionKey: false } })
export class Project extends OutboxFields {
  @Field(() => ID, { name: 'id' })
  @prop({ type: String, required: true })
  public _id!: string;

  @Field()
  @prop({ type: String, required: true })
  public name!: string;

  /** Lower-cased name: names are unique per owner regardless of case. */
  @prop({ type: String, required: true })
  public nameKey!: string;

  @Field(() => String, { nullable: true })
  @prop({ type: String })
  public description?: string | null;

  /** The creator; the name is unique among this user's projects. */
  @prop({ type: String, required: true })
  public ownerId!: string;

  /**
   * Number of OWNER members, kept with atomic updates so the last owner can never leave: never
   * below 1, never above the OWNER memberships, equal to them once changes settle (ProjectMemberService).
   */
  @prop({ type: Number, default: 1 })
  public ownerCount!: number;

  @Field()
  @prop({ type: Boolean, default: false })
  public archived!: boolean;

  @Field(() => Date)
  public createdAt!: Date;

  public updatedAt!: Date;
}

export const ProjectModel = getModelForClass(Project);
