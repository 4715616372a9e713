import { Field, InputType } from 'type-graphql';

@InputType()
export class KindPreferenceInput {
  @Field()
  public kind!: string;

  @Field(() => Boolean, { nullable: true })
  public inApp?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  public email?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  public push?: boolean | null;
}

@InputType({ description: 'Only what you name changes' })
export class NotificationPreferencesInput {
  @Field(() => [KindPreferenceInput], { nullable: true })
  public kinds?: KindPreferenceInput[] | null;

  @Field(() => Boolean, { nullable: true })
  public dailyDigest?: boolean | null;
}
