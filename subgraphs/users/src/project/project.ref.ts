import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The projects subgraph's Project, as users knows it: users adds `Project.onlineUsers`. */
@Directive('@key(fields: "id")')
@ObjectType('Project')
export class ProjectRef {
  @Field(() => ID)
  public id!: string;
}
