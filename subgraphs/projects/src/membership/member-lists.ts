import { anyOf, reviveDates, VersionedCache, type Logger, type Redis } from '@tm/kit';
import { inForce, MEMBER_PROJECTION, ProjectMemberModel, type ProjectMember } from './project-member.model';

/** How long a project's member list stays cached (a bound on staleness only if a write could not reach Redis). */
export const MEMBER_LIST_TTL_MS = 60_000;

/**
 * Each project's members (`Project.members`), cached in Redis: on the test store a query of
 * memberships by project reads and decodes every membership of every project. Exact on writes
 * (VersionedCache): every membership change calls `changed` before it answers and, under the
 * project's lock that the outbox relay also takes, before its event can go out.
 */
export class MemberLists {
  private readonly cache: VersionedCache<ProjectMember[]>;

  constructor(redis: Redis, log: Logger) {
    this.cache = new VersionedCache<ProjectMember[]>(redis, 'project-members', { ttlMs: MEMBER_LIST_TTL_MS, revive: reviveList }, log);
  }

  /** The members of each project, first added first. */
  async of(projectIds: readonly string[]): Promise<Map<string, ProjectMember[]>> {
    return this.cache.readMany(projectIds, async (missing) => {
      const rows = await ProjectMemberModel.find({ projectId: anyOf(missing), ...inForce }, MEMBER_PROJECTION).sort({ addedAt: 1, _id: 1 }).lean<ProjectMember[]>();
      return new Map(missing.map((id) => [id, rows.filter((m) => m.projectId === id)]));
    });
  }

  /** After any change to the project's memberships, before answering or publishing it. */
  changed(projectId: string): Promise<void> {
    return this.cache.changed(projectId);
  }
}

function reviveList(json: unknown): ProjectMember[] {
  return (json as ProjectMember[]).map((m) => reviveDates(m, ['addedAt']));
}
