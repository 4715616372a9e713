import {
  AppError,
  assertId,
  ErrorCode,
  isDuplicateKeyError,
  ROLE_RANK,
  type Locks,
  type OutboxRelay,
  type PendingEvent,
  type UserDirectory,
} from '@tm/kit';
import { requireRole } from '../project/access';
import { projectLock } from '../project/project-lock';
import { ProjectRole } from '../project/project-role';
import { ProjectModel, type Project } from '../project/project.model';
import type { Actor } from '../project/project.service';
import type { ProjectEvents } from '../project/project-events';
import type { MemberLists } from './member-lists';
import type { PermissionCache } from './permission-cache';
import { memberId, membershipById, membershipsById, ProjectMemberModel, type ProjectMember } from './project-member.model';

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
 * How long a membership change waits for its turn on the project (changes to one project run one
 * at a time): adding several people at once queues them rather than refusing all but the first few
 * ("The item is busy", SYS-002, nothing written). Below the gateway's subgraph timeout (10 s), so
 * a change that cannot get its turn is refused while its client still waits for the answer.
 */
const MEMBERSHIP_TURN_WAIT_MS = 8000;

/**
 * Who may add, remove and re-role whom (DESIGN.md §4): you act only on roles below your own
 * (an OWNER on any non-owner, and may make owners); an owner is removed or demoted by nobody
 * but themself; the last owner cannot leave or step down. Each change stores its event in the
 * membership's outbox by the same update; the relay sends it right after.
 */
export class MembershipService {
  constructor(
    private readonly events: ProjectEvents,
    private readonly relay: OutboxRelay<ProjectMember>,
    private readonly permissions: PermissionCache,
    private readonly locks: Locks,
    private readonly lists: MemberLists,
    private readonly directory: Pick<UserDirectory, 'exists'>,
  ) {}

  /** Only an existing account becomes a member (asked after the caller's own rights were checked). */
  private async requireUser(userId: string): Promise<void> {
    if (!(await this.directory.exists(userId))) throw new AppError(ErrorCode.NotFound, 'User not found', { field: 'userId' });
  }

  /**
   * Membership changes of one project run one at a time under the project's lock (owner counting
   * needs it on FerretDB); their events go out once it is released (the relay takes it too).
   */
  private async serial(projectId: string, fn: () => Promise<Outcome>): Promise<Project> {
    const { project, changed } = await this.locks.with(projectLock(projectId), fn, { waitMs: MEMBERSHIP_TURN_WAIT_MS });
    if (changed) await this.relay.flushQuietly(changed);
    return project;
  }

  /** The members of each project, first added first (cached: MemberLists). */
  membersOf(projectIds: readonly string[]): Promise<Map<string, ProjectMember[]>> {
    return this.lists.of(projectIds);
  }

  membershipsByIds(ids: readonly string[]): Promise<ProjectMember[]> {
    return membershipsById(ids);
  }

  add(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.serial(projectId, () => this.addLocked(actor, projectId, userId, role));
  }

  private async addLocked(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Outcome> {
    const { project, member: me } = await requireRole(actor.userId, projectId, 'MANAGER', { write: true });
    if (me.role !== ProjectRole.OWNER && rank(role) >= rank(me.role))
      throw forbidden(`A ${me.role} can only add members with a lower role`);
    await this.requireUser(userId);
    if (!(await this.insert(projectId, userId, role, this.events.of('ProjectMemberAdded', { projectId, userId, role }, actor))))
      throw alreadyMember();
    if (role === ProjectRole.OWNER) await ProjectModel.updateOne({ _id: projectId }, { $inc: { ownerCount: 1 } });
    return this.changed(project, userId);
  }

  remove(actor: Actor, projectId: string, userId: string): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.serial(projectId, () => this.removeLocked(actor, projectId, userId));
  }

  private async removeLocked(actor: Actor, projectId: string, userId: string): Promise<Outcome> {
    const self = actor.userId === userId;
    const { project, member: me } = await requireRole(actor.userId, projectId, self ? 'VIEWER' : 'MANAGER', { write: true });
    const target = self ? me : await this.requireMember(projectId, userId);
    if (!self) this.checkActsOn(me.role, target.role);
    if (target.role === ProjectRole.OWNER) await this.releaseOwner(projectId, 'The last owner cannot leave the project');
    // marked, not deleted: the document carries the removal event until the relay has sent it
    // (writes filter on `_id` alone: the project's lock keeps what was read above true)
    const removed = await ProjectMemberModel.updateOne(
      { _id: target._id },
      {
        $set: { deletedAt: new Date(), hasPending: true },
        $push: { pendingEvents: this.events.of('ProjectMemberRemoved', { projectId, userId }, actor) },
      },
    );
    if (removed.modifiedCount === 0 && target.role === ProjectRole.OWNER) {
      await ProjectModel.updateOne({ _id: projectId }, { $inc: { ownerCount: 1 } }); // someone else removed it first
    }
    return this.changed(project, userId);
  }

  changeRole(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.serial(projectId, () => this.changeRoleLocked(actor, projectId, userId, role));
  }

  private async changeRoleLocked(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Outcome> {
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
    if (target.role === ProjectRole.OWNER) await this.releaseOwner(projectId, 'The last owner cannot step down');
    await this.setRole(
      target,
      role,
      this.events.of('ProjectMemberRoleChanged', { projectId, userId, role, previousRole: target.role }, actor),
    );
    return this.changed(project, userId);
  }

  /** ADMIN: gives a user a role in any project (a membership is created or changed). */
  grant(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.serial(projectId, () => this.grantLocked(actor, projectId, userId, role));
  }

  private async grantLocked(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Outcome> {
    const project = await ProjectModel.findById(projectId).lean<Project>();
    if (!project) throw new AppError(ErrorCode.NotFound, 'Project not found');
    const existing = await membershipById(memberId(projectId, userId));
    if (existing?.role === role) return { project, changed: null };
    const event = this.events.of('ProjectAccessGranted', { projectId, userId, role }, actor);
    if (existing) {
      if (existing.role === ProjectRole.OWNER) await this.releaseOwner(projectId, 'The last owner cannot be demoted');
      await this.setRole(existing, role, event);
    } else {
      await this.requireUser(userId);
      if (!(await this.insert(projectId, userId, role, event))) throw alreadyMember();
      if (role === ProjectRole.OWNER) await ProjectModel.updateOne({ _id: projectId }, { $inc: { ownerCount: 1 } });
    }
    return this.changed(project, userId);
  }

  /**
   * A new membership with its event. A removed one whose removal event is not out yet comes back
   * in place, so its events still go out in order. False when the user is already a member.
   */
  private async insert(projectId: string, userId: string, role: ProjectRole, event: PendingEvent): Promise<boolean> {
    const _id = memberId(projectId, userId);
    const fields = { projectId, userId, role, addedAt: new Date() };
    try {
      await ProjectMemberModel.create({ _id, ...fields, pendingEvents: [event], hasPending: true });
      return true;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    const existing = await ProjectMemberModel.findById(_id, { deletedAt: 1 }).lean<ProjectMember>();
    if (!existing?.deletedAt) return false;
    await ProjectMemberModel.updateOne(
      { _id },
      { $set: { ...fields, deletedAt: null, hasPending: true }, $push: { pendingEvents: event } },
    );
    return true;
  }

  private async setRole(target: ProjectMember, role: ProjectRole, event: PendingEvent): Promise<void> {
    await ProjectMemberModel.updateOne(
      { _id: target._id },
      { $set: { role, hasPending: true }, $push: { pendingEvents: event } },
    );
    if (role === ProjectRole.OWNER) await ProjectModel.updateOne({ _id: target.projectId }, { $inc: { ownerCount: 1 } });
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

  /** Takes one owner away atomically, refusing when it is the last one (no transactions needed). */
  private async releaseOwner(projectId: string, message: string): Promise<void> {
    const r = await ProjectModel.updateOne({ _id: projectId, ownerCount: { $gt: 1 } }, { $inc: { ownerCount: -1 } });
    if (r.modifiedCount === 0) throw forbidden(message);
  }

  /** The caches a membership change makes stale, renewed before the answer and before the event goes out. */
  private async changed(project: Project, userId: string): Promise<Outcome> {
    await this.lists.changed(project._id);
    await this.permissions.invalidate(userId);
    return { project, changed: memberId(project._id, userId) };
  }
}
