import { registerEnumType } from 'type-graphql';

/** The tasks subgraph's workflow states (the same enum in the supergraph). */
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

export const STATUSES = Object.values(TaskStatus);
