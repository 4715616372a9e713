import { cacheMemberships, invalidatePermissions, type Memberships, permissionsVersion } from '@tm/kit/contracts';
import { type Logger, type Redis } from '@tm/kit/infra';
import { ProjectModel, type Project } from '../project/project.model';
import { inForce, ProjectMemberModel, type ProjectMember } from './project-member.model';

/**
 * projects is the source of truth for permissions (README: Security): it fills `permissions:{userId}`
 * on request and drops it on every change that affects the user. Versioned: every change bumps the
 * user's version (`permissions-version:{userId}`) as it drops the entry, and a fill writes only if
 * the version it read before loading is still current, so a load that overlapped a change (a
 * removal, a role change, an archive) never re-caches the old state.
 */
export class PermissionCache {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  /** Reads the user's memberships from the database and caches them. */
  async load(userId: string): Promise<Memberships> {
    // read before the database: a change committed after this bumps it, and the write below is skipped
    const version = await permissionsVersion(this.redis, userId);
    const members = await ProjectMemberModel.find({ userId, ...inForce }, { projectId: 1, role: 1 }).lean<ProjectMember[]>();
    const projects = members.length
      ? await ProjectModel.find({ _id: { $in: members.map((m) => m.projectId) } }, { archived: 1 }).lean<
          Pick<Project, '_id' | 'archived'>[]
        >()
      : [];
    const archived = new Map(projects.map((p) => [p._id, p.archived]));
    const memberships: Memberships = {};
    for (const m of members) {
      if (archived.has(m.projectId)) memberships[m.projectId] = { role: m.role, archived: archived.get(m.projectId) ?? false };
    }
    if (!(await cacheMemberships(this.redis, userId, memberships, version)))
      this.log.debug({ userId }, 'permissions changed while loading; not cached');
    return memberships;
  }

  /** Drops the cached memberships of these users (after any change that affects them). */
  async invalidate(...userIds: string[]): Promise<void> {
    if (userIds.length === 0) return;
    try {
      await invalidatePermissions(this.redis, userIds);
    } catch (err) {
      // the entries expire by themselves (PERMISSIONS_TTL_SECONDS); say so loudly
      this.log.error({ err, users: userIds.length }, 'permission cache invalidation failed');
      throw err;
    }
  }
}
