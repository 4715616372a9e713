import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The users subgraph's User, as files knows it: its key (`File.uploadedBy`). */
@Directive('@key(fields: "id", resolvable: false)')
@ObjectType('User')
export class UserRef {
  @Field(() => ID)
  public id!: string;
}
