import { Arg, Field, ID, ObjectType, Resolver, Root, Subscription } from 'type-graphql';
import { UserRef } from '../user/user.ref';
import { TaskChangeKind } from './task.enums';
import { Task } from './task.model';

/** A change on a project's board, as live subscribers see it. */
@ObjectType({ description: 'A change on a project board' })
export class TaskEvent {
  @Field(() => TaskChangeKind)
  public kind!: TaskChangeKind;

  @Field(() => ID)
  public taskId!: string;

  @Field(() => Task, { nullable: true, description: 'The task as it is now (null once deleted)' })
  public task?: Task | null;

  @Field(() => UserRef, { nullable: true, description: 'Who made the change' })
  public actor?: UserRef | null;

  @Field(() => Date)
  public at!: Date;
}

@Resolver()
export class TaskEventResolver {
  /** Served by the gateway over graphql-ws (README: Live boards); declared here, where the data lives. */
  @Subscription(() => TaskEvent, {
    description:
      "Live changes of a project's tasks (graphql-ws on the gateway's /graphql). Refetch after a reconnect: live updates are at-most-once",
    subscribe: () => {
      throw new Error('served by the gateway');
    },
  })
  taskChanged(@Arg('projectId', () => ID) _projectId: string, @Root() event: TaskEvent): TaskEvent {
    return event;
  }
}
