import { Field, ID, InputType } from 'type-graphql';
import { SortDirection, TaskOrderField, TaskPriority, TaskStatus } from './task.enums';

@InputType()
export class CreateTaskInput {
  @Field(() => ID, {
    nullable: true,
    description: 'Client-generated UUID: a retry with the same id returns the task instead of a duplicate',
  })
  public id?: string;

  @Field(() => ID)
  public projectId!: string;

  @Field({ description: '1–200 characters' })
  public title!: string;

  @Field(() => String, { nullable: true, description: 'At most 10000 characters' })
  public description?: string | null;

  @Field(() => ID, { nullable: true, description: 'Must be a member of the project' })
  public assigneeId?: string | null;

  @Field(() => Date, { nullable: true })
  public dueDate?: Date | null;

  @Field(() => TaskPriority, { nullable: true, defaultValue: TaskPriority.MEDIUM })
  public priority?: TaskPriority;

  @Field(() => [String], { nullable: true, description: 'Up to 20 labels of 1–50 characters' })
  public labels?: string[] | null;

  @Field(() => ID, { nullable: true, description: 'Makes this a subtask of a task in the same project' })
  public parentId?: string | null;
}

@InputType({ description: 'Only the fields given change; null clears an optional field' })
export class UpdateTaskInput {
  @Field(() => String, { nullable: true })
  public title?: string | null;

  @Field(() => String, { nullable: true })
  public description?: string | null;

  @Field(() => ID, { nullable: true })
  public assigneeId?: string | null;

  @Field(() => Date, { nullable: true })
  public dueDate?: Date | null;

  @Field(() => TaskPriority, { nullable: true })
  public priority?: TaskPriority | null;

  @Field(() => [String], { nullable: true })
  public labels?: string[] | null;

  @Field(() => TaskStatus, { nullable: true })
  public status?: TaskStatus | null;
}

@InputType()
export class TaskFilter {
  @Field(() => [TaskStatus], { nullable: true })
  public status?: TaskStatus[] | null;

  @Field(() => ID, { nullable: true })
  public assigneeId?: string | null;

  @Field(() => Date, { nullable: true, description: 'Tasks due strictly before this time' })
  public dueBefore?: Date | null;

  @Field(() => [String], { nullable: true, description: 'Tasks carrying all of these labels' })
  public labels?: string[] | null;
}

@InputType()
export class TaskOrder {
  @Field(() => TaskOrderField, { defaultValue: TaskOrderField.POSITION })
  public field!: TaskOrderField;

  @Field(() => SortDirection, { defaultValue: SortDirection.ASC })
  public direction!: SortDirection;
}
