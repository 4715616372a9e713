import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The users subgraph's User, as far as projects knows it: its key. Projects adds `User.projects`. */
@Directive('@key(fields: "id")')
@ObjectType('User')
export class UserRef {
  @Field(() => ID)
  public id!: string;
}

export const userRef = (id: string): UserRef => ({ id });
