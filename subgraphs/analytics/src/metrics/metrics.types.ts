import { Field, Float, Int, ObjectType } from 'type-graphql';
import { UserRef } from '../user/user.ref';
import { TaskStatus } from '../task/task.enums';

@ObjectType({ description: 'Tasks completed on one UTC day' })
export class DailyCount {
  @Field({ description: 'The UTC day, YYYY-MM-DD' })
  public date!: string;

  @Field(() => Int)
  public count!: number;
}

@ObjectType()
export class StatusCount {
  @Field(() => TaskStatus)
  public status!: TaskStatus;

  @Field(() => Int)
  public count!: number;
}

@ObjectType()
export class AssigneeCount {
  @Field(() => UserRef, { nullable: true, description: 'null: unassigned tasks' })
  public assignee!: UserRef | null;

  @Field(() => Int, { description: 'Tasks assigned (of the range)' })
  public count!: number;

  @Field(() => Int, { description: 'Of them, not DONE' })
  public open!: number;

  @Field(() => Int, { description: 'Of them, DONE' })
  public completed!: number;
}

/**
 * A project's metrics from the analytics read model (eventually consistent with the tasks: usually
 * within a second). Counts are over the project's current tasks created in [from, to]; cycle time
 * and throughput over tasks completed in [from, to].
 */
@ObjectType({ description: "A project's task metrics for a time range (analytics read model; eventually consistent)" })
export class ProjectMetrics {
  @Field(() => Date, { nullable: true, description: 'Start of the range as asked (null: no lower bound for the counts)' })
  public from!: Date | null;

  @Field({ description: 'End of the range' })
  public to!: Date;

  @Field(() => Int, { description: 'Tasks (not deleted) created in the range' })
  public totalTasks!: number;

  @Field(() => Int, { description: 'Of them, DONE now' })
  public completedTasks!: number;

  @Field(() => Float, { description: 'completedTasks / totalTasks (0 without tasks)' })
  public completionRate!: number;

  @Field(() => Int, { description: 'Of them, not DONE and past their due date' })
  public overdueTasks!: number;

  @Field(() => Float, {
    nullable: true,
    description: 'Mean hours from first IN_PROGRESS to DONE of tasks completed in the range (null: none)',
  })
  public averageCycleTimeHours!: number | null;

  @Field(() => [DailyCount], {
    description: 'Tasks completed per UTC day of the range (every day, zeros included; at most 366 days)',
  })
  public throughput!: DailyCount[];

  @Field(() => [StatusCount], { description: 'Tasks of the range by status (every status)' })
  public byStatus!: StatusCount[];

  @Field(() => [AssigneeCount], { description: 'Tasks of the range by assignee, most first' })
  public byAssignee!: AssigneeCount[];
}
