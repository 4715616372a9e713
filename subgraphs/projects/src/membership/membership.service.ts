import { AppError, assertId, ErrorCode, isDuplicateKeyError, ROLE_RANK, type Locks } from '@tm/kit';
import { requireRole } from '../project/access';
import { ProjectRole } from '../project/project-role';
import { ProjectModel, type Project } from '../project/project.model';
import type { Actor } from '../project/project.service';
import type { ProjectEvents } from '../project/project-events';
import type { MemberLists } from './member-lists';
import type { PermissionCache } from './permission-cache';
import { memberId, ProjectMemberModel, type ProjectMember } from './project-member.model';

const rank = (r: ProjectRole) => ROLE_RANK[r];

function forbidden(message: string): AppError {
  return new AppError(ErrorCode.Forbidden, message);
}

/**
 * Who may add, remove and re-role whom (DESIGN.md §4): you act only on roles below your own
 * (an OWNER on any non-owner, and may make owners); an owner is removed or demoted by nobody
 * but themself; the last owner cannot leave or step down.
 */
export class MembershipService {
  constructor(
    private readonly events: ProjectEvents,
    private readonly permissions: PermissionCache,
    private readonly locks: Locks,
    private readonly lists: MemberLists,
  ) {}

  /** Membership changes of one project run one at a time (owner counting needs it on FerretDB). */
  private serial<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.with(`project-members:${projectId}`, fn);
  }

  /** The members of each project, first added first (cached: MemberLists). */
  membersOf(projectIds: readonly string[]): Promise<Map<string, ProjectMember[]>> {
    return this.lists.of(projectIds);
  }

  membershipsByIds(ids: readonly string[]): Promise<ProjectMember[]> {
    return ProjectMemberModel.find({ _id: { $in: [...ids] } }).lean<ProjectMember[]>();
  }

  add(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.serial(projectId, () => this.addLocked(actor, projectId, userId, role));
  }

  private async addLocked(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    const { project, member: me } = await requireRole(actor.userId, projectId, 'MANAGER', { write: true });
    if (me.role !== ProjectRole.OWNER && rank(role) >= rank(me.role)) throw forbidden(`A ${me.role} can only add members with a lower role`);
    try {
      await ProjectMemberModel.create({ _id: memberId(projectId, userId), projectId, userId, role, addedAt: new Date() });
    } catch (err) {
      if (isDuplicateKeyError(err)) {
        throw new AppError(ErrorCode.InvalidRequest, 'Invalid userId: already a member; use changeProjectMemberRole', { field: 'userId' });
      }
      throw err;
    }
    if (role === ProjectRole.OWNER) await ProjectModel.updateOne({ _id: projectId }, { $inc: { ownerCount: 1 } });
    await this.changed(actor, 'ProjectMemberAdded', projectId, userId, { role });
    return project;
  }

  remove(actor: Actor, projectId: string, userId: string): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.serial(projectId, () => this.removeLocked(actor, projectId, userId));
  }

  private async removeLocked(actor: Actor, projectId: string, userId: string): Promise<Project> {
    const self = actor.userId === userId;
    const { project, member: me } = await requireRole(actor.userId, projectId, self ? 'VIEWER' : 'MANAGER', { write: true });
    const target = self ? me : await this.requireMember(projectId, userId);
    if (!self) this.checkActsOn(me.role, target.role);
    if (target.role === ProjectRole.OWNER) await this.releaseOwner(projectId, 'The last owner cannot leave the project');
    const removed = await ProjectMemberModel.deleteOne({ _id: target._id });
    if (removed.deletedCount === 0 && target.role === ProjectRole.OWNER) {
      await ProjectModel.updateOne({ _id: projectId }, { $inc: { ownerCount: 1 } }); // someone else removed it first
    }
    await this.changed(actor, 'ProjectMemberRemoved', projectId, userId, {});
    return project;
  }

  changeRole(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.serial(projectId, () => this.changeRoleLocked(actor, projectId, userId, role));
  }

  private async changeRoleLocked(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    const self = actor.userId === userId;
    const { project, member: me } = await requireRole(actor.userId, projectId, self ? 'VIEWER' : 'MANAGER', { write: true });
    const target = self ? me : await this.requireMember(projectId, userId);
    if (target.role === role) return project;
    if (self) {
      if (rank(role) > rank(me.role)) throw forbidden('You cannot raise your own role');
    } else {
      this.checkActsOn(me.role, target.role);
      if (me.role !== ProjectRole.OWNER && rank(role) >= rank(me.role)) throw forbidden(`A ${me.role} can only give roles below their own`);
    }
    if (target.role === ProjectRole.OWNER) await this.releaseOwner(projectId, 'The last owner cannot step down');
    await this.setRole(target, role);
    await this.changed(actor, 'ProjectMemberRoleChanged', projectId, userId, { role, previousRole: target.role });
    return project;
  }

  /** ADMIN: gives a user a role in any project (a membership is created or changed). */
  grant(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    assertId(projectId, 'projectId');
    assertId(userId, 'userId');
    return this.serial(projectId, () => this.grantLocked(actor, projectId, userId, role));
  }

  private async grantLocked(actor: Actor, projectId: string, userId: string, role: ProjectRole): Promise<Project> {
    const project = await ProjectModel.findById(projectId).lean<Project>();
    if (!project) throw new AppError(ErrorCode.NotFound, 'Project not found');
    const existing = await ProjectMemberModel.findById(memberId(projectId, userId)).lean<ProjectMember>();
    if (existing?.role === role) return project;
    if (existing) {
      if (existing.role === ProjectRole.OWNER) await this.releaseOwner(projectId, 'The last owner cannot be demoted');
      await this.setRole(existing, role);
    } else {
      await ProjectMemberModel.create({ _id: memberId(projectId, userId), projectId, userId, role, addedAt: new Date() });
      if (role === ProjectRole.OWNER) await ProjectModel.updateOne({ _id: projectId }, { $inc: { ownerCount: 1 } });
    }
    await this.changed(actor, 'ProjectAccessGranted', projectId, userId, { role });
    return project;
  }

  private async setRole(target: ProjectMember, role: ProjectRole): Promise<void> {
    await ProjectMemberModel.updateOne({ _id: target._id }, { $set: { role } });
    if (role === ProjectRole.OWNER) await ProjectModel.updateOne({ _id: target.projectId }, { $inc: { ownerCount: 1 } });
  }

  private async requireMember(projectId: string, userId: string): Promise<ProjectMember> {
    const m = await ProjectMemberModel.findById(memberId(projectId, userId)).lean<ProjectMember>();
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

  private async changed(actor: Actor, type: string, projectId: string, userId: string, extra: Record<string, unknown>): Promise<void> {
    await this.lists.changed(projectId);
    await this.permissions.invalidate(userId);
    await this.events.emit(type, { projectId, userId, ...extra }, { actorId: actor.userId, correlationId: actor.correlationId });
  }
}
