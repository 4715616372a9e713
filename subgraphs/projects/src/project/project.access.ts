import { AppError, ErrorCode, type ProjectRoleName, ROLE_RANK } from '@tm/kit/contracts';
import { memberId, membershipById, type ProjectMember } from '../project-member/project-member.model';
import { ProjectModel, type Project } from './project.model';

export interface ProjectWithRole {
  project: Project;
  member: ProjectMember;
}

/**
 * The actor's membership of a project, read from the source of truth: unknown and invisible
 * projects are the same `PERM-002`; a weaker role than `min` is `PERM-001`; a write to an archived
 * project is `PERM-001`.
 */
export async function requireRole(
  actorId: string,
  projectId: string,
  min: ProjectRoleName,
  opts: { write?: boolean } = {},
): Promise<ProjectWithRole> {
  const [project, member] = await Promise.all([
    ProjectModel.findById(projectId).lean<Project>(),
    membershipById(memberId(projectId, actorId)),
  ]);
  if (!project || !member) throw new AppError(ErrorCode.NotFound, 'Project not found or no access');
  if (ROLE_RANK[member.role] < ROLE_RANK[min])
    throw new AppError(ErrorCode.Forbidden, `Requires the ${min} role or higher in this project`);
  if (opts.write && project.archived) throw new AppError(ErrorCode.Forbidden, 'Project is archived and read-only');
  return { project, member };
}
