import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The tasks subgraph's Task, as files knows it: its key. Files adds `Task.attachments`. */
@Directive('@key(fields: "id")')
@ObjectType('Task')
export class TaskRef {
  @Field(() => ID)
  public id!: string;
}
