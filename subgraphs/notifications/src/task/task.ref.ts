import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The tasks subgraph's Task, as notifications knows it: its key (`Notification.task`). */
@Directive('@key(fields: "id", resolvable: false)')
@ObjectType('Task')
export class TaskRef {
  @Field(() => ID)
  public id!: string;
}
