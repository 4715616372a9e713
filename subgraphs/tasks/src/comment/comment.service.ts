import { randomUUID } from 'node:crypto';
import {
  AppError,
  assertId,
  type Connection,
  decodeTypedCursor,
  encodeCursor,
  ErrorCode,
  forwardPage,
  isDuplicateKeyError,
  type RequestAccess,
  requireText,
} from '@tm/kit/contracts';
import { liveChannel, type OutboxRelay, pendingEvent } from '@tm/kit/infra';
import type { Actor } from '../task/task.events';
import { TaskModel, type Task } from '../task/task.model';
import type { CommentCounts } from './comment-count.service';
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
      { commentId, taskId: tid, projectId: task.projectId, body: text }, // the body: consumers find @mentions in it
      { actorId: actor.userId, correlationId: actor.correlationId },
      {
        channel: liveChannel(this.prefix, 'taskChanged', task.projectId),
        message: { kind: 'UPDATED', taskId: tid, projectId: task.projectId, actorId: actor.userId, at: new Date().toISOString() },
      },
    );
    let comment: Comment;
    try {
      comment = (
        await CommentModel.create({
          _id: commentId,
          taskId: tid,
          projectId: task.projectId,
          authorId: actor.userId,
          body: text,
          pendingEvents: [event],
          hasPending: true,
        })
      ).toObject();
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const existing = await CommentModel.findById(commentId, PROJECTION).lean<Comment>();
      if (existing?.deletedAt) throw notFound(); // its task was deleted meanwhile
      if (existing && existing.authorId === actor.userId && existing.taskId === tid) return existing; // a retry: counted by its first attempt
      throw new AppError(ErrorCode.InvalidRequest, 'Invalid id: already used', { field: 'id' });
    }
    if (!(await this.counts.added(tid))) {
      // the task was deleted meanwhile, and its delete may have missed ours: mark it deleted like
      // the others (never a hard delete: a relay may be sending its CommentAdded right now, and
      // the delete's own marking may already have pushed its CommentDeleted)
      await CommentModel.updateOne(
        { _id: commentId, deletedAt: null },
        { $set: { deletedAt: new Date(), hasPending: true }, $push: { pendingEvents: deletedEvent(comment, actor) } },
      );
      await this.relay.flushQuietly(commentId);
      throw notFound();
    }
    await this.relay.flushQuietly(commentId);
    return comment;
  }

  /**
   * The first page of comments of each task (oldest first): at most `limit + 1` per task (the
   * extra one tells whether there is a next page). One query per task, all sent at once by the
   * request's loader; each reads only its page through the comments' (taskId, deletedAt,
   * createdAt, _id) index, whatever the number of comments.
   */
  async firstPages(keys: ReadonlyArray<{ taskId: string; limit: number }>): Promise<Comment[][]> {
    return Promise.all(
      keys.map(({ taskId, limit }) =>
        CommentModel.find({ taskId, deletedAt: null }, PROJECTION)
          .sort({ createdAt: 1, _id: 1 })
          .limit(limit + 1)
          .batchSize(limit + 1)
          .lean<Comment[]>(),
      ),
    );
  }

  /** A later page of one task's comments (`after`: a cursor read by `decodeCommentCursor`). */
  async page(taskId: string, limit: number, after: CommentCursor, total: number): Promise<Connection<Comment>> {
    const [date, id] = after;
    const rows = await CommentModel.find(
      { taskId, deletedAt: null, $or: [{ createdAt: { $gt: date } }, { createdAt: date, _id: { $gt: id } }] },
      PROJECTION,
    )
      .sort({ createdAt: 1, _id: 1 })
      .limit(limit + 1)
      .batchSize(limit + 1)
      .lean<Comment[]>();
    return forwardPage(rows, limit, cursorOf, total, true);
  }

  /**
   * Marks the comments of deleted tasks deleted (soft), each with a `CommentDeleted` event in its
   * outbox after whatever it still holds (a `CommentAdded` not sent yet keeps its place), then
   * flushes them: the relay removes each document once all its events are out (now, or by a later
   * sweep while Redis is down). Nothing is lost to the delete. Returns how many were marked.
   */
  async deleteForTasks(actor: Actor, taskIds: readonly string[], at: Date): Promise<number> {
    const marked: string[] = [];
    for (;;) {
      const batch = await CommentModel.find(
        { taskId: { $in: [...taskIds] }, deletedAt: null },
        { _id: 1, taskId: 1, projectId: 1 },
      )
        .limit(DELETE_BATCH)
        .lean<Array<Pick<Comment, '_id' | 'taskId' | 'projectId'>>>();
      if (batch.length === 0) break;
      await CommentModel.bulkWrite(
        batch.map((c) => ({
          updateOne: {
            filter: { _id: c._id, deletedAt: null },
            update: { $set: { deletedAt: at, hasPending: true }, $push: { pendingEvents: deletedEvent(c, actor) } },
          },
        })),
        { ordered: false },
      );
      marked.push(...batch.map((c) => c._id));
    }
    await flushAll(marked, (id) => this.relay.flushQuietly(id));
    return marked.length;
  }
}

/** Comments marked per round trip by `deleteForTasks`. */
const DELETE_BATCH = 500;
/** Comment flushes at once after a delete. */
const FLUSH_CONCURRENCY = 8;

async function flushAll(ids: string[], flush: (id: string) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < ids.length) await flush(ids[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(FLUSH_CONCURRENCY, ids.length) }, worker));
}

function deletedEvent(c: Pick<Comment, '_id' | 'taskId' | 'projectId'>, actor: Actor) {
  return pendingEvent(
    'CommentDeleted',
    { commentId: c._id, taskId: c.taskId, projectId: c.projectId, reason: 'TaskDeleted' },
    { actorId: actor.userId, correlationId: actor.correlationId },
  );
}

/** A comment cursor: (createdAt, id). */
export type CommentCursor = [Date, string];

/** Reads a comment cursor; API-002 naming `after` unless it is (ISO date, id). */
export function decodeCommentCursor(after: string): CommentCursor {
  return decodeTypedCursor(after, ['date', 'string'] as const);
}

export const cursorOf = (c: Comment) => encodeCursor([c.createdAt.toISOString(), c._id]);
