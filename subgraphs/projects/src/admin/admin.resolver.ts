import { assertId } from '@tm/kit/contracts';
import { Arg, Authorized, Ctx, Field, ID, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { actor, type ProjectsContext } from '../context';
import { ProjectRole } from '../project/project.enums';
import { Project } from '../project/project.model';

@ObjectType({ description: "A user's role in one project" })
export class ProjectPermission {
  @Field(() => Project)
  public project!: Project;

  @Field(() => ProjectRole)
  public role!: ProjectRole;
}

/** Operator actions of the operations guide's "project access problems" (ADMIN, audited). */
@Resolver()
export class ProjectAdminResolver {
  @Authorized('ADMIN')
  @Query(() => [ProjectPermission], { description: "ADMIN: a user's project roles, from the source of truth" })
  userPermissions(@Arg('userId', () => ID) userId: string, @Ctx() ctx: ProjectsContext): Promise<ProjectPermission[]> {
    // reading someone's access is an admin action too: audited like the changes
    return ctx.services.audit.run(ctx, 'userPermissions', { userId }, async () => {
      assertId(userId, 'userId');
      const memberships = await ctx.services.permissions.load(userId);
      const projects = await ctx.loaders.project.loadMany(Object.keys(memberships));
      return projects
        .filter((p): p is Project => !!p && !(p instanceof Error))
        .map((project) => ({ project, role: memberships[project._id]!.role as ProjectRole }));
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => Project, { description: 'ADMIN: give a user a role in any project' })
  grantProjectAccess(
    @Arg('projectId', () => ID) projectId: string,
    @Arg('userId', () => ID) userId: string,
    @Arg('role', () => ProjectRole) role: ProjectRole,
    @Ctx() ctx: ProjectsContext,
  ): Promise<Project> {
    return ctx.services.audit.run(ctx, 'grantProjectAccess', { projectId, userId, role }, () =>
      ctx.services.members.grant(actor(ctx), projectId, userId, role),
    );
  }

  @Authorized('ADMIN')
  @Mutation(() => Boolean, { description: "ADMIN: drop a user's cached permissions (they are reloaded on next use)" })
  clearPermissionCache(@Arg('userId', () => ID) userId: string, @Ctx() ctx: ProjectsContext): Promise<boolean> {
    return ctx.services.audit.run(ctx, 'clearPermissionCache', { userId }, async () => {
      assertId(userId, 'userId');
      await ctx.services.permissions.invalidate(userId);
      return true;
    });
  }
}
