import { ConnectionType } from '@tm/kit/graphql';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { actor, type ProjectsContext } from '../context';
import { ProjectMember } from '../project-member/project-member.model';
import { UserRef, userRef } from '../user/user.ref';
import { ProjectRole } from './project.enums';
import { CreateProjectInput, UpdateProjectInput } from './project.inputs';
import { Project } from './project.model';

export const ProjectConnection = ConnectionType('Project', Project);

@Resolver(() => Project)
export class ProjectResolver {
  @Authorized()
  @Query(() => Project, { nullable: true, description: 'A project you are a member of (PERM-002 otherwise)' })
  project(@Arg('id', () => ID) id: string, @Ctx() ctx: ProjectsContext): Promise<Project> {
    return ctx.services.projects.get(ctx.user.userId!, id);
  }

  @Authorized()
  @Query(() => ProjectConnection, { description: 'Your projects, newest first' })
  projects(
    @Ctx() ctx: ProjectsContext,
    @Arg('search', () => String, { nullable: true }) search?: string,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return ctx.services.projects.listForUser(ctx.user.userId!, { search, first, after });
  }

  @FieldResolver(() => UserRef)
  owner(@Root() project: Project): UserRef {
    return userRef(project.ownerId);
  }

  @FieldResolver(() => [ProjectMember])
  members(@Root() project: Project, @Ctx() ctx: ProjectsContext): Promise<ProjectMember[]> {
    return ctx.loaders.members.load(project._id);
  }

  @FieldResolver(() => ProjectRole, { nullable: true, description: 'Your role in this project' })
  async myRole(@Root() project: Project, @Ctx() ctx: ProjectsContext): Promise<ProjectRole | null> {
    return (await ctx.loaders.myMembership.load(project._id))?.role ?? null;
  }

  @Authorized()
  @Mutation(() => Project, { description: 'You become its OWNER. PROJ-001 when you already have a project with this name' })
  createProject(
    @Arg('input', () => CreateProjectInput) input: CreateProjectInput,
    @Ctx() ctx: ProjectsContext,
  ): Promise<Project> {
    return ctx.services.projects.create(actor(ctx), input);
  }

  @Authorized()
  @Mutation(() => Project, { description: 'MANAGER or OWNER' })
  updateProject(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateProjectInput) input: UpdateProjectInput,
    @Ctx() ctx: ProjectsContext,
  ): Promise<Project> {
    return ctx.services.projects.update(actor(ctx), id, input);
  }

  @Authorized()
  @Mutation(() => Project, { description: 'OWNER only; the project becomes read-only' })
  archiveProject(@Arg('id', () => ID) id: string, @Ctx() ctx: ProjectsContext): Promise<Project> {
    return ctx.services.projects.archive(actor(ctx), id);
  }

  @Authorized()
  @Mutation(() => Project)
  addProjectMember(
    @Arg('projectId', () => ID) projectId: string,
    @Arg('userId', () => ID) userId: string,
    @Arg('role', () => ProjectRole) role: ProjectRole,
    @Ctx() ctx: ProjectsContext,
  ): Promise<Project> {
    return ctx.services.members.add(actor(ctx), projectId, userId, role);
  }

  @Authorized()
  @Mutation(() => Project, { description: 'Remove a member, or leave (your own id)' })
  removeProjectMember(
    @Arg('projectId', () => ID) projectId: string,
    @Arg('userId', () => ID) userId: string,
    @Ctx() ctx: ProjectsContext,
  ): Promise<Project> {
    return ctx.services.members.remove(actor(ctx), projectId, userId);
  }

  @Authorized()
  @Mutation(() => Project)
  changeProjectMemberRole(
    @Arg('projectId', () => ID) projectId: string,
    @Arg('userId', () => ID) userId: string,
    @Arg('role', () => ProjectRole) role: ProjectRole,
    @Ctx() ctx: ProjectsContext,
  ): Promise<Project> {
    return ctx.services.members.changeRole(actor(ctx), projectId, userId, role);
  }
}
