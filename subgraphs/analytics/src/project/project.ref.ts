import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The projects subgraph's Project, as analytics knows it: its key. Analytics adds `Project.metrics`. */
@Directive('@key(fields: "id")')
@ObjectType('Project')
export class ProjectRef {
  @Field(() => ID)
  public id!: string;
}

export const projectReference = {
  Project: { __resolveReference: (ref: { id: string }): ProjectRef => ({ id: ref.id }) },
};
