import { getModelForClass, modelOptions, prop } from '@typegoose/typegoose';
import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Channels of one notification kind' })
export class KindPreference {
  @Field()
  @prop({ type: String, required: true })
  public kind!: string;

  @Field()
  @prop({ type: Boolean, required: true })
  public inApp!: boolean;

  @Field()
  @prop({ type: Boolean, required: true })
  public email!: boolean;

  @Field()
  @prop({ type: Boolean, required: true })
  public push!: boolean;
}

/** A user's choices; kinds they never set use the defaults. `_id` is the user id. */
@ObjectType({ description: 'Where each kind of notification reaches you' })
@modelOptions({ schemaOptions: { collection: 'preferences', timestamps: true, versionKey: false } })
export class NotificationPreferences {
  @prop({ type: String, required: true })
  public _id!: string;

  @Field(() => [KindPreference], { description: 'Every kind, with the defaults for those you never set' })
  @prop({ type: () => [KindPreference], _id: false, default: [] })
  public kinds!: KindPreference[];

  @Field({ description: 'Emails collected into one a day instead of one per notification' })
  @prop({ type: Boolean, default: false })
  public dailyDigest!: boolean;
}

export const PreferencesModel = getModelForClass(NotificationPreferences);
