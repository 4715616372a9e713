import { registerEnumType } from 'type-graphql';

/** The workflow: TODO → IN_PROGRESS → IN_REVIEW → DONE, one step forward at a time, any steps back. */
export enum TaskStatus {
  TODO = 'TODO',
  IN_PROGRESS = 'IN_PROGRESS',
  IN_REVIEW = 'IN_REVIEW',
  DONE = 'DONE',
}
registerEnumType(TaskStatus, {
  name: 'TaskStatus',
  description: 'TODO → IN_PROGRESS → IN_REVIEW → DONE; one step forward, any steps back',
});

export const STATUS_ORDER = [TaskStatus.TODO, TaskStatus.IN_PROGRESS, TaskStatus.IN_REVIEW, TaskStatus.DONE];

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  const a = STATUS_ORDER.indexOf(from);
  const b = STATUS_ORDER.indexOf(to);
  return b <= a || b === a + 1;
}

export enum TaskPriority {
  LOW = 'LOW',
  MEDIUM = 'MEDIUM',
  HIGH = 'HIGH',
  URGENT = 'URGENT',
}
registerEnumType(TaskPriority, { name: 'TaskPriority' });

export const PRIORITY_RANK: Record<TaskPriority, number> = { LOW: 1, MEDIUM: 2, HIGH: 3, URGENT: 4 };

export enum TaskOrderField {
  POSITION = 'POSITION',
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
  DUE_DATE = 'DUE_DATE',
  PRIORITY = 'PRIORITY',
}
registerEnumType(TaskOrderField, { name: 'TaskOrderField', description: 'POSITION is the board order within a status column' });

export enum SortDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(SortDirection, { name: 'SortDirection' });

/** What happened to a task, as live subscribers and the event stream see it. */
export enum TaskChangeKind {
  CREATED = 'CREATED',
  UPDATED = 'UPDATED',
  MOVED = 'MOVED',
  DELETED = 'DELETED',
}
registerEnumType(TaskChangeKind, { name: 'TaskChangeKind' });
