import { AppError, assertId, ErrorCode, isDuplicateKeyError, ROLE_RANK, type UserDirectory } from '@tm/kit/contracts';
import { type OutboxRelay, type PendingEvent } from '@tm/kit/infra';
import { requireRole } from '../project/project.access';
import { ProjectRole } from '../project/project.enums';
import { ProjectModel, type Project } from '../project/project.model';
import type { Actor } from '../project/project.service';
import type { ProjectEvents } from '../project/project.events';
import type { PermissionCache } from './permission.cache';
import {
  inForce,
  MEMBER_PROJECTION,
  memberId,
  membershipById,
  membershipsById,
  ProjectMemberModel,
  type ProjectMember,
} from './project-member.model';

const rank = (r: ProjectRole) => ROLE_RANK[r];

function forbidden(message: string): AppError {
  return new AppError(ErrorCode.Forbidden, message);
}

function alreadyMember(): AppError {
  return new AppError(ErrorCode.InvalidRequest, 'Invalid userId: already a member; use changeProjectMemberRole', {
    field: 'userId',
  });
}

/** What a membership change did: the project to answer with, and the membership whose events to send. */
interface Outcome {
  project: Project;
  changed: string | null;
}

/**
 * How many times a change is decided again when the membership it read changed before its write
 * (a compare-and-set on the role lost): then SYS-002, nothing written. Only many changes of the
 * same membership at the same moment get there.
 */
const MAX_ATTEMPTS = 10;

function busy(): AppError {
  return new AppError(ErrorCode.ServiceUnavailable, 'The item is busy, try again');
}

/**
 * Who may add, remove and re-role whom (README: Security): you act only on roles below your own
 * (an OWNER on any non-owner, and may make owners); an owner is removed or demoted by nobody
 * but themself; the last owner cannot leave or step down. Each change stores its event in the
 * membership's outbox by the same update; the relay sends it right after.
 *
 * The user's cached permissions are dropped before the write (so a change is refused, DB-001, with
 * nothing written when Redis cannot take that) and again after it, before the answer.
 *
 * No lock: every write is one atomic single-document update. A membership changes by a
 * compare-and-set on the role it was read with (lost: the change is decided again on what is
 * there now). "At least one owner" lives in the project's `ownerCount`, which never exceeds the
 * number of OWNER memberships: an owner leaves (demoted, removed) only after
 * `{ ownerCount: { $gt: 1 } }` took one from the count (matches nothing: the last owner, refused),
 * and gives it back if its compare-and-set then loses; an owner is counted only after its
 * membership became OWNER. So the count is at least 1, there are at least as many owners, and
 * once changes settle it is exact.
 */
export class ProjectMemberService {
  constructor(
    private readonly events: ProjectEvents,
    private readonly relay: OutboxRelay<ProjectMember>,
    private readonly permissions: PermissionCache,
    private readonly directory: Pick<UserDirectory, 'exists'>,
  ) {}

  /** Only an existing account becomes a member (asked after the caller's own rights were checked). */
  private async requireUser(userId: string): Promise<void> {
    if (!(await this.directory.exists(userId))) throw new AppError(ErrorCode.NotFound, 'User not found', { field: 'userId' });
  }

  /**
   * Runs a change, deciding it again while it reports (null) that what it read changed before its
   * write; its events go out right after.
   */
  private async run(attempt: () => Promise<Outcome | null>): Promise<Project> {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const outcome = await attempt();
      if (!outcome) continue;
      if (outcome.changed) await this.relay.flushQuietly(outcome.changed);
      return outcome.project;
    }
    throw busy();
  }

  /** The members of each project, first added first. */
  async membersOf(projectIds: readonly string[]): Promise<Map<string, ProjectMember[]>> {
    const rows = await ProjectMemberModel.find({ projectId: { $in: [...projectIds] }, ...inForce }, MEMBER_PROJECTION)
      .sort({ addedAt: 1, _id: 1 })
      .lean<ProjectMember[]>();
    const byProject = new Map<string, ProjectMember[]>(projectIds.map((id) => [id, []]));
    for (const m of rows) byProject.get(m.projectId)?.push(m);
    return byProject;
  }

  membershipsByIds(ids: readonly string[]): Promise<ProjectMember[]> {
    return membershipsById(ids);
  }

  add(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.run(async () => {
      const { project, member: me } = await requireRole(actor.userId, projectId, 'MANAGER', { write: true });
      if (me.role !== ProjectRole.OWNER && rank(role) >= rank(me.role))
        throw forbidden(`A ${me.role} can only add members with a lower role`);
      await this.requireUser(userId);
      await this.permissions.invalidate(userId);
      const event = this.events.of('ProjectMemberAdded', { projectId, userId, role }, actor);
      if (!(await this.insert(projectId, userId, role, event))) throw alreadyMember();
      if (role === ProjectRole.OWNER) await this.countOwner(projectId);
      return this.changed(project, userId);
    });
  }

  remove(actor: Actor, projectId: string, userId: string): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.run(async () => {
      const self = actor.userId === userId;
      const { project, member: me } = await requireRole(actor.userId, projectId, self ? 'VIEWER' : 'MANAGER', { write: true });
      const target = self ? me : await this.requireMember(projectId, userId);
      if (!self) this.checkActsOn(me.role, target.role);
      await this.permissions.invalidate(userId);
      const owner = target.role === ProjectRole.OWNER;
      if (owner) await this.releaseOwner(projectId, 'The last owner cannot leave the project');
      // marked, not deleted: the document carries the removal event until the relay has sent it
      const removed = await ProjectMemberModel.updateOne(
        { _id: target._id, role: target.role, ...inForce },
        {
          $set: { deletedAt: new Date(), hasPending: true },
          $push: { pendingEvents: this.events.of('ProjectMemberRemoved', { projectId, userId }, actor) },
        },
      );
      if (removed.modifiedCount === 0) {
        if (owner) await this.countOwner(projectId); // not taken away after all
        return null;
      }
      return this.changed(project, userId);
    });
  }

  changeRole(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.run(async () => {
      const self = actor.userId === userId;
      const { project, member: me } = await requireRole(actor.userId, projectId, self ? 'VIEWER' : 'MANAGER', { write: true });
      const target = self ? me : await this.requireMember(projectId, userId);
      if (target.role === role) return { project, changed: null };
      if (self) {
        if (rank(role) > rank(me.role)) throw forbidden('You cannot raise your own role');
      } else {
        this.checkActsOn(me.role, target.role);
        if (me.role !== ProjectRole.OWNER && rank(role) >= rank(me.role))
          throw forbidden(`A ${me.role} can only give roles below their own`);
      }
      await this.permissions.invalidate(userId);
      const event = this.events.of('ProjectMemberRoleChanged', { projectId, userId, role, previousRole: target.role }, actor);
      return this.setRole(project, target, role, event, 'The last owner cannot step down');
    });
  }

  /** ADMIN: gives a user a role in any project (a membership is created or changed). */
  grant(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.run(async () => {
      const project = await ProjectModel.findById(projectId).lean<Project>();
      if (!project) throw new AppError(ErrorCode.NotFound, 'Project not found');
      const existing = await membershipById(memberId(projectId, userId));
      if (existing?.role === role) return { project, changed: null };
      if (!existing) await this.requireUser(userId);
      await this.permissions.invalidate(userId);
      const event = this.events.of('ProjectAccessGranted', { projectId, userId, role }, actor);
      if (existing) return this.setRole(project, existing, role, event, 'The last owner cannot be demoted');
      if (!(await this.insert(projectId, userId, role, event))) return null; // added meanwhile: change it instead
      if (role === ProjectRole.OWNER) await this.countOwner(projectId);
      return this.changed(project, userId);
    });
  }

  /**
   * A new membership with its event. A removed one whose removal event is not out yet comes back
   * in place, so its events still go out in order. False when the user is already a member.
   */
  private async insert(projectId: string, userId: string, role: ProjectRole, event: PendingEvent): Promise<boolean> {
    const _id = memberId(projectId, userId);
    const fields = { projectId, userId, role, addedAt: new Date() };
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      try {
        await ProjectMemberModel.create({ _id, ...fields, pendingEvents: [event], hasPending: true });
        return true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const revived = await ProjectMemberModel.updateOne(
        { _id, deletedAt: { $ne: null } },
        { $set: { ...fields, deletedAt: null, hasPending: true }, $push: { pendingEvents: event } },
      );
      if (revived.modifiedCount === 1) return true;
      if (await ProjectMemberModel.exists({ _id, ...inForce })) return false;
      // the removed one was deleted for good in between (its event went out): insert again
    }
    throw busy();
  }

  /**
   * Changes the role by a compare-and-set on the role it was read with; null when that lost
   * (decide again). An owner stepping down is taken from the count first; a new owner is counted
   * once it is one.
   */
  private async setRole(
    project: Project,
    target: ProjectMember,
    role: ProjectRole,
    event: PendingEvent,
    lastOwner: string,
  ): Promise<Outcome | null> {
    const leaving = target.role === ProjectRole.OWNER && role !== ProjectRole.OWNER;
    if (leaving) await this.releaseOwner(project._id, lastOwner);
    const r = await ProjectMemberModel.updateOne(
      { _id: target._id, role: target.role, ...inForce },
      { $set: { role, hasPending: true }, $push: { pendingEvents: event } },
    );
    if (r.modifiedCount === 0) {
      if (leaving) await this.countOwner(project._id); // not taken away after all
      return null;
    }
    if (role === ProjectRole.OWNER) await this.countOwner(project._id);
    return this.changed(project, target.userId);
  }

  private async requireMember(projectId: string, userId: string): Promise<ProjectMember> {
    const m = await membershipById(memberId(projectId, userId));
    if (!m) throw new AppError(ErrorCode.NotProjectMember, 'That user is not a member of the project', { field: 'userId' });
    return m;
  }

  /** You act only on members whose role is below yours; owners only on themselves. */
  private checkActsOn(myRole: ProjectRole, targetRole: ProjectRole): void {
    if (targetRole === ProjectRole.OWNER) throw forbidden('An owner can only be removed or demoted by themself');
    if (rank(targetRole) >= rank(myRole)) throw forbidden(`A ${myRole} can only manage members with a lower role`);
  }

  /** Takes one owner from the count atomically, refusing when it is the last one (before the membership changes). */
  private async releaseOwner(projectId: string, message: string): Promise<void> {
    const r = await ProjectModel.updateOne({ _id: projectId, ownerCount: { $gt: 1 } }, { $inc: { ownerCount: -1 } });
    if (r.modifiedCount === 0) throw forbidden(message);
  }

  /** Counts one owner more (after a membership became OWNER, or when a release was not used). */
  private async countOwner(projectId: string): Promise<void> {
    await ProjectModel.updateOne({ _id: projectId }, { $inc: { ownerCount: 1 } });
  }

  /** The permissions a membership change makes stale, dropped before the answer and before the event goes out. */
  private async changed(project: Project, userId: string): Promise<Outcome> {
    await this.permissions.invalidate(userId);
    return { project, changed: memberId(project._id, userId) };
  }
}
