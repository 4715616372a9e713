import type { ProjectsContext } from '../context';
import type { Project } from './project.model';

/**
 * `_entities` for Project, batched. Only members (and admins) get a project back: whichever
 * subgraph referenced it, a project the viewer cannot see stays unseen.
 */
export const projectReference = {
  Project: {
    __resolveReference: async (ref: { id: string }, ctx: ProjectsContext): Promise<Project | null> => {
      const [project, mine] = await Promise.all([ctx.loaders.project.load(ref.id), ctx.loaders.myMembership.load(ref.id)]);
      return project && (mine || ctx.user.roles.includes('ADMIN')) ? project : null;
    },
  },
};
