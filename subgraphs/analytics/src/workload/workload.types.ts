import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: "A user's tasks across their projects (analytics read model; eventually consistent)" })
export class Workload {
  @Field(() => Int, { description: 'Assigned tasks not DONE' })
  public openTasks!: number;

  @Field(() => Int, { description: 'Of them, past their due date' })
  public overdueTasks!: number;

  @Field(() => Int, { description: 'Assigned tasks DONE in the last 7 days' })
  public completedLast7Days!: number;
}
