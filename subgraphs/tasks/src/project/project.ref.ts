import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The projects subgraph's Project, as tasks knows it: its key. Tasks adds `Project.tasks`. */
@Directive('@key(fields: "id")')
@ObjectType('Project')
export class ProjectRef {
  @Field(() => ID)
  public id!: string;
}
