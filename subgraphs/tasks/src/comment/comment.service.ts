import { randomUUID } from 'node:crypto';
import {
  AppError,
  assertId,
  decodeCursor,
  encodeCursor,
  ErrorCode,
  forwardPage,
  isDuplicateKeyError,
  liveChannel,
  pageSize,
  pendingEvent,
  requireText,
  type Connection,
  type OutboxRelay,
  type RequestAccess,
} from '@tm/kit';
import type { Actor } from '../task/task.events';
import { TaskModel, type Task } from '../task/task.model';
import type { CommentCounts } from './comment-count';
import { Comment, CommentModel } from './comment.model';

export const BODY_MAX = 10_000;
const PROJECTION = { pendingEvents: 0 } as const;
const notFound = () => new AppError(ErrorCode.NotFound, 'Task not found or no access');

/** Comments on tasks: MEMBERs write, everyone who sees the task reads. */
export class CommentService {
  constructor(
    private readonly relay: OutboxRelay<Comment>,
    private readonly prefix: string,
    private readonly counts: CommentCounts,
  ) {}

  async add(actor: Actor & { access: RequestAccess }, taskId: string, body: string, id?: string | null): Promise<Comment> {
    const tid = assertId(taskId, 'taskId');
    const commentId = id ? assertId(id, 'id') : randomUUID();
    const text = requireText(body, 'body', BODY_MAX, ErrorCode.InvalidRequest);
    const task = await TaskModel.findOne({ _id: tid, deletedAt: null }, { projectId: 1 }).lean<Pick<Task, '_id' | 'projectId'>>();
    if (!task || !(await actor.access.of(task.projectId))) throw notFound();
    await actor.access.require(task.projectId, 'MEMBER', { write: true });
    const event = pendingEvent(
      'CommentAdded',
      { commentId, taskId: tid, projectId: task.projectId },
      { actorId: actor.userId, correlationId: actor.correlationId },
      {
        channel: liveChannel(this.prefix, 'taskChanged', task.projectId),
        message: { kind: 'UPDATED', taskId: tid, projectId: task.projectId, actorId: actor.userId, at: new Date().toISOString() },
      },
    );
    let comment: Comment;
    try {
      comment = (await CommentModel.create({ _id: commentId, taskId: tid, projectId: task.projectId, authorId: actor.userId, body: text, pendingEvents: [event], hasPending: true })).toObject();
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const existing = await CommentModel.findById(commentId, PROJECTION).lean<Comment>();
      if (existing && existing.authorId === actor.userId && existing.taskId === tid) return existing; // a retry: counted by its first attempt
      throw new AppError(ErrorCode.InvalidRequest, 'Invalid id: already used', { field: 'id' });
    }
    if (!(await this.counts.added(tid))) {
      // the task was deleted meanwhile (its delete may have removed its comments before ours was in)
      await CommentModel.deleteOne({ _id: commentId });
      throw notFound();
    }
    await this.relay.flushQuietly(commentId);
    return comment;
  }

  /** The first comments of many tasks in one query (oldest first). */
  async firstOf(taskIds: readonly string[]): Promise<Comment[]> {
    return CommentModel.find({ taskId: { $in: [...taskIds] }, deletedAt: null }, PROJECTION).sort({ taskId: 1, createdAt: 1, _id: 1 }).lean<Comment[]>();
  }

  /** A later page of one task's comments. */
  async page(taskId: string, first: number | null | undefined, after: string, total: number): Promise<Connection<Comment>> {
    const limit = pageSize(first);
    const [at, id] = decodeCursor(after, 2) as [string, string];
    const date = new Date(at);
    const rows = await CommentModel.find(
      { taskId, deletedAt: null, $or: [{ createdAt: { $gt: date } }, { createdAt: date, _id: { $gt: id } }] },
      PROJECTION,
    )
      .sort({ createdAt: 1, _id: 1 })
      .limit(limit + 1)
      .lean<Comment[]>();
    return forwardPage(rows, limit, cursorOf, total, true);
  }
}

export const cursorOf = (c: Comment) => encodeCursor([c.createdAt.toISOString(), c._id]);
