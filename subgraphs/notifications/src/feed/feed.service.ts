import { isDuplicateKeyError, type UserDirectory } from '@tm/kit/contracts';
import { type DomainEvent } from '@tm/kit/infra';
import type { DeliveryService } from '../delivery/delivery.service';
import type { Links } from '../delivery/delivery.templates';
import { NotificationKind } from '../notification/notification.enums';
import type { NotificationDraft, NotificationService } from '../notification/notification.service';
import { ProjectMemberModel, type ProjectMember } from '../project/project-member.model';
import { TaskInfoModel, type TaskInfo } from '../task/task-info.model';

interface TaskState {
  title?: string;
  status?: string;
  assigneeId?: string | null;
  reporterId?: string | null;
  dueDate?: string | null;
}

const TASK_STATE_EVENTS = new Set(['TaskCreated', 'TaskUpdated', 'TaskMoved', 'TaskSynchronized']);
const ROLE_NAMES: Record<string, string> = { OWNER: 'owner', MANAGER: 'manager', MEMBER: 'member', VIEWER: 'viewer' };
/** The notification a membership change gives its member, by kind, with the role's name. */
const MEMBER_TITLES = {
  [NotificationKind.PROJECT_MEMBER_ADDED]: (role: string) => `You were added to a project as ${role}`,
  [NotificationKind.PROJECT_ROLE_CHANGED]: (role: string) => `Your role in a project is now ${role}`,
};

/**
 * Turns domain events into notifications, and keeps what it needs to know of tasks and project
 * members. Every notification's key is `<event id>:<recipient>:<kind>`, so an event handled again
 * (redelivered, claimed from a dead consumer) makes nothing new. Never notifies the event's actor.
 */
export class FeedService {
  constructor(
    private readonly notifications: NotificationService,
    private readonly delivery: Pick<DeliveryService, 'queuePasswordReset'>,
    private readonly directory: Pick<UserDirectory, 'contacts'>,
    private readonly links: Links,
  ) {}

  handle = async (event: DomainEvent): Promise<void> => {
    const p = event.payload as Record<string, unknown>;
    if (TASK_STATE_EVENTS.has(event.type)) return this.taskChanged(event, p);
    switch (event.type) {
      case 'TaskDeleted':
        await TaskInfoModel.updateOne({ _id: String(p.taskId) }, { $set: { deleted: true } });
        return;
      case 'CommentAdded':
        return this.commentAdded(event, p);
      case 'ProjectCreated':
        if (event.actorId) await this.member(String(p.projectId), event.actorId, 'OWNER');
        return;
      case 'ProjectMemberAdded':
      case 'ProjectAccessGranted':
        return this.memberChanged(event, p, NotificationKind.PROJECT_MEMBER_ADDED);
      case 'ProjectMemberRoleChanged':
        return this.memberChanged(event, p, NotificationKind.PROJECT_ROLE_CHANGED);
      case 'ProjectMemberRemoved':
        await ProjectMemberModel.deleteOne({ _id: `${String(p.projectId)}:${String(p.userId)}` });
        return;
      case 'FileInfected':
        return this.fileInfected(event, p);
      case 'PasswordResetRequested':
        await this.delivery.queuePasswordReset({
          eventId: event.id,
          userId: String(p.userId),
          resetTokenEncrypted: String(p.resetTokenEncrypted),
          emailEncrypted: String(p.emailEncrypted),
          expiresAt: String(p.expiresAt),
        });
        return;
      default:
        return;
    }
  };

  private key(event: DomainEvent, recipientId: string, kind: string): string {
    return `${event.id}:${recipientId}:${kind}`;
  }

  /**
   * Keeps the task's state (a newer version only: events of one task may come out of order after a
   * redelivery); a new assignee is told. Whether the assignee is new is read from the event itself
   * (`previousAssigneeId`), so handling it again decides the same.
   */
  private async taskChanged(event: DomainEvent, p: Record<string, unknown>): Promise<void> {
    const state = p.state as TaskState | undefined;
    const taskId = String(p.taskId);
    const version = Number(p.version);
    if (!state || !Number.isFinite(version)) return;
    const projectId = String(p.projectId);
    const set = {
      projectId,
      title: state.title ?? '',
      status: state.status ?? 'TODO',
      assigneeId: state.assigneeId ?? null,
      reporterId: state.reporterId ?? null,
      dueDate: state.dueDate ? new Date(state.dueDate) : null,
      version,
    };
    try {
      await TaskInfoModel.updateOne({ _id: taskId, version: { $lt: version } }, { $set: set }, { upsert: true });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err; // the same or a newer version is known already
    }
    const assignee = state.assigneeId;
    const isNew =
      event.type === 'TaskCreated' ||
      (event.type !== 'TaskSynchronized' && 'previousAssigneeId' in p && p.previousAssigneeId !== assignee);
    if (!assignee || !isNew) return;
    await this.notifications.notify([
      {
        recipientId: assignee,
        kind: NotificationKind.TASK_ASSIGNED,
        title: `You were assigned "${set.title}"`,
        link: this.links.task(projectId, taskId),
        actorId: event.actorId,
        taskId,
        projectId,
        dedupeKey: this.key(event, assignee, NotificationKind.TASK_ASSIGNED),
      },
    ]);
  }

  /** The task's reporter, assignee and people mentioned on it before hear of a comment; people mentioned now get MENTIONED. */
  private async commentAdded(event: DomainEvent, p: Record<string, unknown>): Promise<void> {
    const taskId = String(p.taskId);
    const projectId = String(p.projectId);
    const body = typeof p.body === 'string' ? p.body : '';
    const task = await TaskInfoModel.findById(taskId).lean<TaskInfo>();
    const mentioned = await this.mentioned(projectId, body);
    const title = task?.title ?? 'a task';
    const link = this.links.task(projectId, taskId);
    const excerpt = body.length > 280 ? `${body.slice(0, 277)}...` : body;
    const drafts: NotificationDraft[] = [];
    const seen = new Set<string>();
    for (const userId of mentioned) {
      seen.add(userId);
      drafts.push({
        recipientId: userId,
        kind: NotificationKind.MENTIONED,
        title: `You were mentioned on "${title}"`,
        body: excerpt,
        link,
        actorId: event.actorId,
        taskId,
        projectId,
        dedupeKey: this.key(event, userId, NotificationKind.MENTIONED),
      });
    }
    for (const userId of [task?.reporterId, task?.assigneeId, ...(task?.mentionedIds ?? [])]) {
      if (!userId || seen.has(userId)) continue;
      seen.add(userId);
      drafts.push({
        recipientId: userId,
        kind: NotificationKind.TASK_COMMENT,
        title: `New comment on "${title}"`,
        body: excerpt,
        link,
        actorId: event.actorId,
        taskId,
        projectId,
        dedupeKey: this.key(event, userId, NotificationKind.TASK_COMMENT),
      });
    }
    await this.notifications.notify(drafts);
    if (mentioned.length && task)
      await TaskInfoModel.updateOne({ _id: taskId }, { $addToSet: { mentionedIds: { $each: mentioned } } });
  }

  /**
   * Members of the project named in the text as `@Name` (case-insensitive; a name with spaces may
   * be written with or without them, or by its first word when that is unambiguous).
   */
  private async mentioned(projectId: string, text: string): Promise<string[]> {
    if (!text.includes('@')) return [];
    const members = await ProjectMemberModel.find({ projectId }, { userId: 1 }).lean<Array<Pick<ProjectMember, 'userId'>>>();
    if (!members.length) return [];
    const contacts = await this.directory.contacts(members.map((m) => m.userId));
    const lower = text.toLowerCase();
    const at = (handle: string) => {
      if (!handle) return false;
      let i = lower.indexOf(`@${handle}`);
      while (i >= 0) {
        const next = lower.charAt(i + 1 + handle.length);
        if (!next || !/[\p{L}\p{N}_]/u.test(next)) return true;
        i = lower.indexOf(`@${handle}`, i + 1);
      }
      return false;
    };
    const firstWords = new Map<string, number>();
    for (const c of contacts) {
      const first = c.name.trim().toLowerCase().split(/\s+/)[0] ?? '';
      firstWords.set(first, (firstWords.get(first) ?? 0) + 1);
    }
    return contacts
      .filter((c) => {
        const name = c.name.trim().toLowerCase();
        const first = name.split(/\s+/)[0] ?? '';
        return at(name) || at(name.replace(/\s+/g, '')) || (firstWords.get(first) === 1 && at(first));
      })
      .map((c) => c.id);
  }

  private async member(projectId: string, userId: string, role: string): Promise<void> {
    await ProjectMemberModel.updateOne(
      { _id: `${projectId}:${userId}` },
      { $set: { projectId, userId, role } },
      { upsert: true },
    );
  }

  /** Keeps the member's role and tells them: added to the project, or their role changed. */
  private async memberChanged(event: DomainEvent, p: Record<string, unknown>, kind: keyof typeof MEMBER_TITLES): Promise<void> {
    const projectId = String(p.projectId);
    const userId = String(p.userId);
    const role = String(p.role);
    await this.member(projectId, userId, role);
    await this.notifications.notify([
      {
        recipientId: userId,
        kind,
        title: MEMBER_TITLES[kind](ROLE_NAMES[role] ?? role),
        link: this.links.project(projectId),
        actorId: event.actorId,
        projectId,
        dedupeKey: this.key(event, userId, kind),
      },
    ]);
  }

  private async fileInfected(event: DomainEvent, p: Record<string, unknown>): Promise<void> {
    const uploader = typeof p.uploadedById === 'string' ? p.uploadedById : null;
    if (!uploader) return;
    const projectId = String(p.projectId);
    const taskId = String(p.taskId);
    await this.notifications.notify([
      {
        recipientId: uploader,
        kind: NotificationKind.FILE_INFECTED,
        title: 'A file you uploaded was found infected',
        body: 'It was quarantined and cannot be downloaded.',
        link: this.links.task(projectId, taskId),
        actorId: event.actorId,
        taskId,
        projectId,
        dedupeKey: this.key(event, uploader, NotificationKind.FILE_INFECTED),
      },
    ]);
  }
}
