import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The users subgraph's User, as tasks knows it: its key. Tasks adds `User.assignedTasks`. */
@Directive('@key(fields: "id")')
@ObjectType('User')
export class UserRef {
  @Field(() => ID)
  public id!: string;
}

export const userRef = (id: string | null | undefined): UserRef | null => (id ? { id } : null);
