import { Field, ObjectType } from 'type-graphql';
import { User } from '../user/user.model';

/** The payload of `presenceChanged`. */
@ObjectType({ description: 'Someone came online or went offline in a project' })
export class PresenceEvent {
  @Field(() => User)
  public user!: User;

  @Field()
  public online!: boolean;

  @Field(() => Date)
  public at!: Date;
}
