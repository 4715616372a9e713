import { AppError, ErrorCode, type PermissionsClient } from '@tm/kit/contracts';
import { type UserContext } from '@tm/kit/infra';
import type { CurrentGeneration } from '../readmodel/readmodel.generation';

const WEEK_MS = 7 * 86_400_000;

export interface WorkloadResult {
  openTasks: number;
  overdueTasks: number;
  completedLast7Days: number;
}

/**
 * A user's workload: tasks assigned to them in the projects they are a member of now (by the
 * permissions client, never the client's word). Three counts on the (assignee, active, status,
 * project) index; independent of how often the tasks changed.
 */
export class WorkloadService {
  constructor(
    private readonly current: CurrentGeneration,
    private readonly permissions: PermissionsClient,
  ) {}

  /** Yourself, or anyone for an ADMIN; others PERM-001. */
  async workload(viewer: UserContext, userId: string, now = new Date()): Promise<WorkloadResult> {
    if (!viewer.userId) throw new AppError(ErrorCode.AuthFailed, 'Authentication required');
    if (viewer.userId !== userId && !viewer.roles.includes('ADMIN'))
      throw new AppError(ErrorCode.Forbidden, "Only the user and ADMINs see a user's workload");
    const projects = Object.keys(await this.permissions.memberships(userId));
    if (!projects.length) return { openTasks: 0, overdueTasks: 0, completedLast7Days: 0 };
    const g = await this.current.get();
    const mine = { assigneeId: userId, active: true, projectId: { $in: projects } };
    const open = { ...mine, status: { $in: ['TODO', 'IN_PROGRESS', 'IN_REVIEW'] } };
    const [openTasks, overdueTasks, completedLast7Days] = await Promise.all([
      g.facts.countDocuments(open),
      g.facts.countDocuments({ ...open, dueDate: { $ne: null, $lt: now } }),
      g.facts.countDocuments({ ...mine, status: 'DONE', completedAt: { $gte: new Date(now.getTime() - WEEK_MS), $lte: now } }),
    ]);
    return { openTasks, overdueTasks, completedLast7Days };
  }
}
