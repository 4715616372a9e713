import { randomUUID } from 'node:crypto';
import {
  AppError,
  assertId,
  type Connection,
  decodeTypedCursor,
  encodeCursor,
  ErrorCode,
  escapeRegex,
  forwardPage,
  isDuplicateKeyError,
  optionalText,
  pageSize,
  requireText,
} from '@tm/kit/contracts';
import { type OutboxRelay } from '@tm/kit/infra';
import type { ProjectEvents } from './project.events';
import type { PermissionCache } from '../project-member/permission.cache';
import { inForce, memberId, ProjectMemberModel, type ProjectMember } from '../project-member/project-member.model';
import { requireRole } from './project.access';
import { ProjectRole } from './project.enums';
import { ProjectModel, type Project } from './project.model';

export interface ProjectDraft {
  id?: string | null;
  name: string;
  description?: string | null;
}

export interface Actor {
  userId: string;
  correlationId: string;
}

const NAME_MAX = 100;
const DESCRIPTION_MAX = 5000;
const isDuplicate = isDuplicateKeyError;

/**
 * Projects: creation (idempotent), changes, archiving, and the caller's list. Every change stores
 * its event in the project's outbox by the same update; the relay sends it right after.
 */
export class ProjectService {
  constructor(
    private readonly events: ProjectEvents,
    private readonly relay: OutboxRelay<Project>,
    private readonly permissions: PermissionCache,
  ) {}

  async create(actor: Actor, draft: ProjectDraft): Promise<Project> {
    const code = ErrorCode.ProjectCreateFailed;
    const id = draft.id ? assertId(draft.id, 'id', code) : randomUUID();
    const name = requireText(draft.name, 'name', NAME_MAX, code);
    const description = optionalText(draft.description, 'description', DESCRIPTION_MAX, code);
    const event = this.events.of('ProjectCreated', { projectId: id }, actor);
    let project: Project;
    try {
      project = (
        await ProjectModel.create({
          _id: id,
          name,
          nameKey: name.toLowerCase(),
          description,
          ownerId: actor.userId,
          pendingEvents: [event],
          hasPending: true,
        })
      ).toObject();
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      const existing = await ProjectModel.findById(id).lean<Project>();
      if (existing && existing.ownerId === actor.userId) {
        project = existing; // a retry: finish what the first attempt may not have
      } else if (existing) {
        throw new AppError(code, 'Invalid id: already used', { field: 'id' });
      } else {
        throw new AppError(code, 'Invalid name: you already have a project with this name', { field: 'name' });
      }
    }
    try {
      // an insert, never an update: it cannot undo a concurrent writer's change of an existing one
      await ProjectMemberModel.create({
        _id: memberId(project._id, actor.userId),
        projectId: project._id,
        userId: actor.userId,
        role: ProjectRole.OWNER,
        addedAt: project.createdAt,
      });
    } catch (err) {
      if (!isDuplicate(err)) throw err; // a retry: already there
    }
    await this.permissions.invalidate(actor.userId);
    // the event was stored with the project: sent now, or by the sweep if Redis cannot take it
    await this.relay.flushQuietly(project._id);
    return project;
  }

  /** MANAGER or OWNER; refused (PERM-001) once archived, also when archived while this runs. */
  async update(
    actor: Actor,
    projectId: string,
    changes: { name?: string | null; description?: string | null },
  ): Promise<Project> {
    assertId(projectId, 'id');
    await requireRole(actor.userId, projectId, 'MANAGER', { write: true });
    const set: Partial<Project> = {};
    if (changes.name !== undefined && changes.name !== null) {
      set.name = requireText(changes.name, 'name', NAME_MAX, ErrorCode.InvalidRequest);
      set.nameKey = set.name.toLowerCase();
    }
    if (changes.description !== undefined)
      set.description = optionalText(changes.description, 'description', DESCRIPTION_MAX, ErrorCode.InvalidRequest) ?? null;
    const event = this.events.of('ProjectUpdated', { projectId, fields: Object.keys(set) }, actor);
    let updated: Project | null;
    try {
      updated = await ProjectModel.findOneAndUpdate(
        { _id: projectId, archived: false },
        { $set: { ...set, hasPending: true }, $push: { pendingEvents: event } },
        { returnDocument: 'after' },
      ).lean<Project>();
    } catch (err) {
      if (isDuplicate(err))
        throw new AppError(ErrorCode.ProjectCreateFailed, 'Invalid name: the owner already has a project with this name', {
          field: 'name',
        });
      throw err;
    }
    if (!updated) throw new AppError(ErrorCode.Forbidden, 'Project is archived and read-only');
    await this.relay.flushQuietly(projectId);
    return updated;
  }

  /** Archived projects are read-only for everyone; only an owner archives. */
  async archive(actor: Actor, projectId: string): Promise<Project> {
    assertId(projectId, 'id');
    await requireRole(actor.userId, projectId, 'OWNER');
    const event = this.events.of('ProjectArchived', { projectId }, actor);
    // archived once: a repeat (or a concurrent archive) finds it archived and writes nothing
    const archived =
      (await ProjectModel.findOneAndUpdate(
        { _id: projectId, archived: false },
        { $set: { archived: true, hasPending: true }, $push: { pendingEvents: event } },
        { returnDocument: 'after' },
      ).lean<Project>()) ?? (await ProjectModel.findById(projectId).lean<Project>())!;
    // also on a repeat: a first attempt may have stopped before this (e.g. Redis went away)
    const members = await ProjectMemberModel.find({ projectId, ...inForce }, { userId: 1 }).lean<
      Pick<ProjectMember, 'userId'>[]
    >();
    await this.permissions.invalidate(...members.map((m) => m.userId));
    await this.relay.flushQuietly(projectId);
    return archived;
  }

  /** A project the viewer is a member of; otherwise `PERM-002`. */
  async get(viewerId: string, projectId: string): Promise<Project> {
    assertId(projectId, 'id');
    return (await requireRole(viewerId, projectId, 'VIEWER')).project;
  }

  byIds(ids: readonly string[]): Promise<Project[]> {
    return ProjectModel.find({ _id: { $in: [...ids] } }).lean<Project[]>();
  }

  /**
   * The projects `userId` is a member of (optionally only those `viewerId` also belongs to),
   * newest first, as a Relay page. Cursor: (createdAt, id).
   */
  async listForUser(
    userId: string,
    args: { search?: string | null; first?: number | null; after?: string | null },
    alsoMemberId?: string,
  ): Promise<Connection<Project>> {
    const limit = pageSize(args.first);
    let ids = (
      await ProjectMemberModel.find({ userId, ...inForce }, { projectId: 1 }).lean<Pick<ProjectMember, 'projectId'>[]>()
    ).map((m) => m.projectId);
    if (alsoMemberId && alsoMemberId !== userId) {
      const mine = new Set(
        (
          await ProjectMemberModel.find({ userId: alsoMemberId, ...inForce }, { projectId: 1 }).lean<
            Pick<ProjectMember, 'projectId'>[]
          >()
        ).map((m) => m.projectId),
      );
      ids = ids.filter((id) => mine.has(id));
    }
    const filter: Record<string, unknown> = { _id: { $in: ids } };
    if (args.search) filter.nameKey = { $regex: `^${escapeRegex(args.search.trim().toLowerCase().slice(0, 100))}` };
    const pageFilter = { ...filter };
    if (args.after) {
      const [date, id] = decodeTypedCursor(args.after, ['date', 'string'] as const);
      pageFilter.$or = [{ createdAt: { $lt: date } }, { createdAt: date, _id: { $lt: id } }];
    }
    const [rows, totalCount] = await Promise.all([
      ProjectModel.find(pageFilter)
        .sort({ createdAt: -1, _id: -1 })
        .limit(limit + 1)
        .lean<Project[]>(),
      ProjectModel.countDocuments(filter),
    ]);
    return forwardPage(rows, limit, (p) => encodeCursor([p.createdAt.toISOString(), p._id]), totalCount, Boolean(args.after));
  }
}
