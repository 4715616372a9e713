import { registerEnumType } from 'type-graphql';

/** Membership roles, strongest first: OWNER > MANAGER > MEMBER > VIEWER. */
export enum ProjectRole {
  OWNER = 'OWNER',
  MANAGER = 'MANAGER',
  MEMBER = 'MEMBER',
  VIEWER = 'VIEWER',
}
registerEnumType(ProjectRole, { name: 'ProjectRole', description: 'Role in a project: OWNER > MANAGER > MEMBER > VIEWER' });
