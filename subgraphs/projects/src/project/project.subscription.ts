import { Arg, Field, ID, ObjectType, registerEnumType, Resolver, Root, Subscription } from 'type-graphql';
import { UserRef } from '../user/user.ref';
import { Project } from './project.model';

export enum ProjectChangeKind {
  CREATED = 'CREATED',
  UPDATED = 'UPDATED',
  ARCHIVED = 'ARCHIVED',
  MEMBER_ADDED = 'MEMBER_ADDED',
  MEMBER_REMOVED = 'MEMBER_REMOVED',
  MEMBER_ROLE_CHANGED = 'MEMBER_ROLE_CHANGED',
}
registerEnumType(ProjectChangeKind, { name: 'ProjectChangeKind' });

/** Event types of the projects stream → the kind live subscribers see. */
export const LIVE_KIND: Record<string, ProjectChangeKind> = {
  ProjectCreated: ProjectChangeKind.CREATED,
  ProjectUpdated: ProjectChangeKind.UPDATED,
  ProjectArchived: ProjectChangeKind.ARCHIVED,
  ProjectMemberAdded: ProjectChangeKind.MEMBER_ADDED,
  ProjectAccessGranted: ProjectChangeKind.MEMBER_ADDED,
  ProjectMemberRemoved: ProjectChangeKind.MEMBER_REMOVED,
  ProjectMemberRoleChanged: ProjectChangeKind.MEMBER_ROLE_CHANGED,
};

@ObjectType({ description: 'A change of a project or its membership' })
export class ProjectEvent {
  @Field(() => ProjectChangeKind)
  public kind!: ProjectChangeKind;

  @Field(() => Project, { nullable: true })
  public project?: Project | null;

  @Field(() => UserRef, { nullable: true })
  public actor?: UserRef | null;

  @Field(() => ID, { nullable: true, description: 'The member concerned, for membership changes' })
  public userId?: string | null;

  @Field(() => Date)
  public at!: Date;
}

@Resolver()
export class ProjectEventResolver {
  /** Served by the gateway over graphql-ws; declared here, where the data lives. */
  @Subscription(() => ProjectEvent, {
    description: 'Live changes of a project and its members (graphql-ws on the gateway). Refetch after a reconnect',
    subscribe: () => {
      throw new Error('served by the gateway');
    },
  })
  projectChanged(@Arg('projectId', () => ID) _projectId: string, @Root() event: ProjectEvent): ProjectEvent {
    return event;
  }
}
