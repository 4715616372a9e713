import { FieldResolver, Resolver, Root } from 'type-graphql';
import { UserRef, userRef } from '../user/user.ref';
import { ProjectMember } from './project-member.model';

@Resolver(() => ProjectMember)
export class ProjectMemberResolver {
  @FieldResolver(() => UserRef)
  user(@Root() member: ProjectMember): UserRef {
    return userRef(member.userId);
  }
}
