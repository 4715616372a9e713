import { AppError, ErrorCode } from './errors';
import { internalGet } from '../infra/internal';
import { RedisKeys } from '../infra/keys';
import type { Logger } from '../infra/logger';
import type { Metrics } from '../infra/metrics';
import type { Redis } from '../infra/redis';
import type { TrackedCache } from '../infra/tracked';

/** A user's cached permissions held in the process (PermissionsClient with a local cache). */
export interface LocalPermissions {
  /** Single projects read so far: their access, or null (not a member). */
  fields: Map<string, ProjectAccess | null>;
  /** The whole set, once read. */
  all?: Memberships;
}

/** Project membership roles, strongest first (README: Security). */
export type ProjectRoleName = 'OWNER' | 'MANAGER' | 'MEMBER' | 'VIEWER';

export const ROLE_RANK: Record<ProjectRoleName, number> = { OWNER: 4, MANAGER: 3, MEMBER: 2, VIEWER: 1 };

/** What a user may do in one project. */
export interface ProjectAccess {
  role: ProjectRoleName;
  archived: boolean;
}

export type Memberships = Record<string, ProjectAccess>;

/** Marks a cached membership hash as complete (so "no memberships" is cached too). */
export const LOADED_FIELD = '__loaded';
export const PERMISSIONS_TTL_SECONDS = 300;
export const PERMISSIONS_PATH = '/internal/permissions';

export function atLeast(access: ProjectAccess | null | undefined, min: ProjectRoleName): boolean {
  return !!access && ROLE_RANK[access.role] >= ROLE_RANK[min];
}

/** Parses the cached hash; null when it is not (fully) cached. */
export function parseMemberships(hash: Record<string, string>): Memberships | null {
  if (!hash[LOADED_FIELD]) return null;
  const out: Memberships = {};
  for (const [projectId, value] of Object.entries(hash)) {
    if (projectId === LOADED_FIELD) continue;
    const access = parseAccess(value);
    if (!access) return null;
    out[projectId] = access;
  }
  return out;
}

/** One cached membership value; undefined when it cannot be read (then the source decides). */
function parseAccess(value: string): ProjectAccess | undefined {
  try {
    const access = JSON.parse(value) as ProjectAccess | null;
    return access && typeof access === 'object' ? access : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The version of a user's cached permissions: incremented by every change that affects them
 * (`invalidatePermissions`), read by a refill before it loads (`permissionsVersion`) and compared
 * when it writes (`cacheMemberships`). Outlives the cache entry by far, so a load in flight cannot
 * outlast it.
 */
export function permissionsVersionKey(userId: string): string {
  return `permissions-version:${userId}`;
}
const VERSION_TTL_SECONDS = 24 * 3600;

/**
 * Compare-and-set refill: replaces the hash only while the version is still the one read before
 * the load (a missing version reads as '0'). KEYS: hash, version. ARGV: version read, ttl, fields….
 */
const REFILL_SCRIPT = `
local current = redis.call('GET', KEYS[2]) or '0'
if current ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`;

/** Drops users' cached permissions and bumps their versions, so no refill begun earlier can write. */
const INVALIDATE_SCRIPT = `
for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i + 1])
  redis.call('EXPIRE', KEYS[i + 1], tonumber(ARGV[1]))
  redis.call('DEL', KEYS[i])
end
return #KEYS / 2
`;

/** A user's permissions version, read before loading their memberships from the database. */
export async function permissionsVersion(redis: Redis, userId: string): Promise<string> {
  return (await redis.get(permissionsVersionKey(userId))) ?? '0';
}

/**
 * Writes a user's memberships to the shared cache (projects does this; README: Security), only if no
 * change happened since `version` was read (before the load): a load that overlapped a membership
 * change or an archive never re-caches what it read before. True when written.
 */
export async function cacheMemberships(
  redis: Redis,
  userId: string,
  memberships: Memberships,
  version: string,
): Promise<boolean> {
  const fields: string[] = [LOADED_FIELD, '1'];
  for (const [projectId, access] of Object.entries(memberships)) fields.push(projectId, JSON.stringify(access));
  const written = await redis.eval(
    REFILL_SCRIPT,
    2,
    RedisKeys.permissions(userId),
    permissionsVersionKey(userId),
    version,
    String(PERMISSIONS_TTL_SECONDS),
    ...fields,
  );
  return written === 1;
}

/** Drops the cached permissions of these users and bumps their versions (one atomic step). */
export async function invalidatePermissions(redis: Redis, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  const keys = userIds.flatMap((id) => [RedisKeys.permissions(id), permissionsVersionKey(id)]);
  await redis.eval(INVALIDATE_SCRIPT, keys.length, ...keys, String(VERSION_TTL_SECONDS));
}

/**
 * How every subgraph learns what a user may do in a project: the Redis cache written by projects,
 * and on a miss projects' signed internal endpoint (which fills the cache). Never the client's word.
 */
export class PermissionsClient {
  constructor(
    private readonly redis: Redis,
    private readonly projectsUrl: string,
    private readonly secret: string,
    private readonly log: Logger,
    /** Counts lookups as `cache_requests_total{cache="permissions"}` (`result="local"`: answered in the process). */
    private readonly metrics?: Pick<Metrics, 'cacheRequests'>,
    /**
     * The cached hashes held in the process, invalidated by Redis on every change (TrackedCache on
     * `permissions:` of this client's connection): a check then costs no Redis round trip.
     */
    private readonly local?: TrackedCache<LocalPermissions>,
  ) {}

  /** `cache_requests_total{cache="permissions",result="local"}`, labelled once (a hit is counted per check). */
  private localHits?: { inc(): void };

  private countLocal(): void {
    if (!this.metrics) return;
    (this.localHits ??= this.metrics.cacheRequests.labels({ cache: 'permissions', result: 'local' })).inc();
  }

  async memberships(userId: string): Promise<Memberships> {
    const key = RedisKeys.permissions(userId);
    const held = this.local?.get(key)?.all;
    if (held) {
      this.countLocal();
      return held;
    }
    const generation = this.local?.generation() ?? 0;
    const cached = parseMemberships(await this.redis.hgetall(key));
    this.metrics?.cacheRequests.inc({ cache: 'permissions', result: cached ? 'hit' : 'miss' });
    if (cached) {
      this.local?.remember(key, generation, (current) => ({ fields: current?.fields ?? new Map(), all: cached }));
      return cached;
    }
    const path = `${PERMISSIONS_PATH}?userId=${encodeURIComponent(userId)}`;
    return (await internalGet<{ memberships: Memberships }>(this.projectsUrl, path, this.secret, 'projects', this.log))
      .memberships;
  }

  /**
   * One project's access: only that field (and the completeness mark) is read from the cache, not
   * the user's whole hash, so a check costs the same however many projects they belong to.
   */
  async access(userId: string | null, projectId: string): Promise<ProjectAccess | null> {
    if (!userId) return null;
    if (projectId !== LOADED_FIELD) {
      const local = this.held(userId, projectId);
      if (local !== undefined) return local;
      const key = RedisKeys.permissions(userId);
      const generation = this.local?.generation() ?? 0;
      const [loaded, value] = await this.redis.hmget(key, LOADED_FIELD, projectId);
      // cached (complete) and readable: not a member when the field is absent
      const access = loaded ? (value ? parseAccess(value) : null) : undefined;
      if (access !== undefined) {
        this.metrics?.cacheRequests.inc({ cache: 'permissions', result: 'hit' });
        this.local?.remember(key, generation, (current) => {
          const entry = current ?? { fields: new Map<string, ProjectAccess | null>() };
          entry.fields.set(projectId, access);
          return entry;
        });
        return access;
      }
    }
    return (await this.memberships(userId))[projectId] ?? null;
  }

  /**
   * One project's access as the process holds it (the local copy Redis keeps exact), at once;
   * `undefined` when it is not held there (no local copy, not read yet, or invalidated): then
   * `access` reads Redis. Lets a caller checking many users answer the held ones without a promise each.
   */
  held(userId: string, projectId: string): ProjectAccess | null | undefined {
    if (!this.local || projectId === LOADED_FIELD) return undefined;
    const held = this.local.get(RedisKeys.permissions(userId));
    const local = held?.all ? (held.all[projectId] ?? null) : held?.fields.get(projectId);
    if (local !== undefined) this.countLocal();
    return local;
  }
}

/**
 * One request's view of the caller's permissions: memberships are fetched once per request and
 * every check reuses them.
 */
export class RequestAccess {
  private memberships: Promise<Memberships> | undefined;

  constructor(
    private readonly client: PermissionsClient,
    public readonly userId: string | null,
  ) {}

  all(): Promise<Memberships> {
    if (!this.userId) return Promise.resolve({});
    this.memberships ??= this.client.memberships(this.userId);
    return this.memberships;
  }

  async of(projectId: string): Promise<ProjectAccess | null> {
    return (await this.all())[projectId] ?? null;
  }

  /**
   * The caller's access to a project, at least `min`; otherwise `PERM-002` when they cannot see
   * it at all (unknown and invisible look the same) and `PERM-001` when their role is too weak.
   * With `write`, an archived project is refused (`PERM-001`, read-only).
   */
  async require(projectId: string, min: ProjectRoleName, opts: { write?: boolean } = {}): Promise<ProjectAccess> {
    if (!this.userId) throw new AppError(ErrorCode.AuthFailed, 'Authentication required');
    const access = await this.of(projectId);
    if (!access) throw new AppError(ErrorCode.NotFound, 'Project not found or no access');
    if (!atLeast(access, min)) throw new AppError(ErrorCode.Forbidden, `Requires the ${min} role or higher in this project`);
    if (opts.write && access.archived) throw new AppError(ErrorCode.Forbidden, 'Project is archived and read-only');
    return access;
  }

  async visibleProjectIds(): Promise<string[]> {
    return Object.keys(await this.all());
  }
}
