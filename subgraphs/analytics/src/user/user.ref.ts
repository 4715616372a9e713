import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The users subgraph's User, as analytics knows it: its key. Analytics adds `User.workload`. */
@Directive('@key(fields: "id")')
@ObjectType('User')
export class UserRef {
  @Field(() => ID)
  public id!: string;
}

export const userRef = (id: string | null | undefined): UserRef | null => (id ? { id } : null);

export const userReference = {
  User: { __resolveReference: (ref: { id: string }): UserRef => ({ id: ref.id }) },
};
