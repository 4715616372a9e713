import { cacheMemberships, RedisKeys, type Logger, type Memberships, type Redis } from '@tm/kit';
import { ProjectModel, type Project } from '../project/project.model';
import { inForce, ProjectMemberModel, type ProjectMember } from './project-member.model';

/**
 * projects is the source of truth for permissions (DESIGN.md §4): it fills `permissions:{userId}`
 * on request and drops it on every change that affects the user.
 */
export class PermissionCache {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  /** Reads the user's memberships from the database and caches them. */
  async load(userId: string): Promise<Memberships> {
    const members = await ProjectMemberModel.find({ userId, ...inForce }, { projectId: 1, role: 1 }).lean<ProjectMember[]>();
    const projects = members.length
      ? await ProjectModel.find({ _id: { $in: members.map((m) => m.projectId) } }, { archived: 1 }).lean<Pick<Project, '_id' | 'archived'>[]>()
      : [];
    const archived = new Map(projects.map((p) => [p._id, p.archived]));
    const memberships: Memberships = {};
    for (const m of members) {
      if (archived.has(m.projectId)) memberships[m.projectId] = { role: m.role, archived: archived.get(m.projectId) ?? false };
    }
    await cacheMemberships(this.redis, userId, memberships);
    return memberships;
  }

  /** Drops the cached memberships of these users (after any change that affects them). */
  async invalidate(...userIds: string[]): Promise<void> {
    if (userIds.length === 0) return;
    try {
      await this.redis.del(...userIds.map((id) => RedisKeys.permissions(id)));
    } catch (err) {
      // the entries expire by themselves (PERMISSIONS_TTL_SECONDS); say so loudly
      this.log.error({ err, users: userIds.length }, 'permission cache invalidation failed');
      throw err;
    }
  }
}
