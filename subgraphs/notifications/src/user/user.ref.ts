import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The users subgraph's User, as notifications knows it: its key (`Notification.recipient`, `User.notifications`). */
@Directive('@key(fields: "id")')
@ObjectType('User')
export class UserRef {
  @Field(() => ID)
  public id!: string;
}
