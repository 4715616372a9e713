import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The projects subgraph's Project, as notifications knows it: its key (`Notification.project`). */
@Directive('@key(fields: "id", resolvable: false)')
@ObjectType('Project')
export class ProjectRef {
  @Field(() => ID)
  public id!: string;
}
