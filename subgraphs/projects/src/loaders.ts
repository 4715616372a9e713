import DataLoader from 'dataloader';
import { memberId, type ProjectMember } from './project-member/project-member.model';
import type { ProjectMemberService } from './project-member/project-member.service';
import type { Project } from './project/project.model';
import type { ProjectService } from './project/project.service';

/** Per-request batching: any number of projects or members costs one query each. */
export function createLoaders(projects: ProjectService, members: ProjectMemberService, viewerId: string | null) {
  return {
    project: new DataLoader<string, Project | null>(async (ids) => {
      const byId = new Map((await projects.byIds(ids)).map((p) => [p._id, p]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    members: new DataLoader<string, ProjectMember[]>(async (projectIds) => {
      const byProject = await members.membersOf(projectIds);
      return projectIds.map((id) => byProject.get(id) ?? []);
    }),
    /** The viewer's own membership per project. */
    myMembership: new DataLoader<string, ProjectMember | null>(async (projectIds) => {
      if (!viewerId) return projectIds.map(() => null);
      const found = await members.membershipsByIds(projectIds.map((p) => memberId(p, viewerId)));
      const byProject = new Map(found.map((m) => [m.projectId, m]));
      return projectIds.map((id) => byProject.get(id) ?? null);
    }),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
