import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { AppError, createLogger, ErrorCode, Locks } from '@tm/kit';
import { CommentCounts } from '../src/comment/comment-count';
import { CommentModel } from '../src/comment/comment.model';
import { TaskPages } from '../src/task/task-pages';
import { TaskModel, type Task } from '../src/task/task.model';
import { PRIORITY_RANK, TaskPriority, TaskStatus } from '../src/task/task-enums';

/**
 * Task.commentCount against the real store and Redis: right after concurrent adds, retries,
 * refusals and failures, never trusted while unknown, and filled in for tasks that lack it.
 */
const prefix = `t:counts:${randomUUID().slice(0, 8)}:`;
let redis: Redis;
let counts: CommentCounts;

beforeAll(async () => {
  await mongoose.connect(process.env.MONGO_URL!, { dbName: `t_counts_${randomUUID().slice(0, 8)}` });
  redis = new Redis(process.env.REDIS_URL!, { keyPrefix: prefix });
  const log = createLogger('test', 'silent');
  counts = new CommentCounts(new Locks(redis), new TaskPages(redis, log), log);
});

afterAll(async () => {
  await mongoose.connection.db?.dropDatabase();
  await mongoose.disconnect();
  redis.disconnect();
});

let position = 0;
async function newTask(fields: Partial<Task> = {}): Promise<string> {
  const _id = randomUUID();
  await TaskModel.create({
    _id,
    projectId: 'p1',
    title: 't',
    status: TaskStatus.TODO,
    priority: TaskPriority.MEDIUM,
    priorityRank: PRIORITY_RANK[TaskPriority.MEDIUM],
    reporterId: 'u1',
    dueSort: new Date('9999-12-31T00:00:00.000Z'),
    position: ++position,
    commentCount: 0,
    ...fields,
  });
  return _id;
}

const stored = async (taskId: string) => (await TaskModel.findById(taskId, { commentCount: 1 }).lean<Task>())?.commentCount;
const comment = (taskId: string, id: string = randomUUID()) => CommentModel.create({ _id: id, taskId, projectId: 'p1', authorId: 'u1', body: 'b' });
const add = (taskId: string, id?: string) =>
  counts.adding(taskId, async () => {
    try {
      return { value: (await comment(taskId, id)).toObject(), added: true };
    } catch (err) {
      if ((err as { code?: number }).code === 11000) return { value: null, added: false }; // a retry
      throw err;
    }
  });

it('counts every one of many concurrent adds, once per comment', async () => {
  const taskId = await newTask();
  const ids = Array.from({ length: 12 }, () => randomUUID());
  await Promise.all(ids.map((id) => add(taskId, id)));
  await Promise.all(ids.slice(0, 4).map((id) => add(taskId, id))); // retries of the same comments
  expect(await stored(taskId)).toBe(12);
  expect((await counts.countFor([taskId])).get(taskId)).toBe(12);
});

it('keeps the count when an add is refused, and leaves it unknown (never wrong) when an add fails midway', async () => {
  const taskId = await newTask();
  await add(taskId);
  await expect(counts.adding(taskId, () => Promise.reject(new AppError(ErrorCode.InvalidRequest, 'no')))).rejects.toThrow('no');
  expect(await stored(taskId)).toBe(1);
  // as if the process died after the insert: the comment is there, the count is not claimed
  await expect(
    counts.adding(taskId, async () => {
      await comment(taskId);
      throw new Error('connection lost');
    }),
  ).rejects.toThrow('connection lost');
  expect(await stored(taskId)).toBeNull();
  await add(taskId); // the next add counts from the comments
  expect(await stored(taskId)).toBe(3);
});

it('does nothing for a deleted task', async () => {
  const taskId = await newTask({ deletedAt: new Date() });
  expect(await add(taskId)).toBeNull();
  expect(await CommentModel.countDocuments({ taskId })).toBe(0);
});

it('fills in the count of tasks that have none: older tasks, and tasks an add left unknown', async () => {
  const old = await newTask();
  await TaskModel.updateOne({ _id: old }, { $unset: { commentCount: '' } });
  await Promise.all([comment(old), comment(old)]);
  const unknown = await newTask({ commentCount: null });
  await comment(unknown);
  const gone = await newTask({ deletedAt: new Date() });
  await TaskModel.updateOne({ _id: gone }, { $unset: { commentCount: '' } });
  expect(await counts.backfill()).toBe(2);
  expect(await stored(old)).toBe(2);
  expect(await stored(unknown)).toBe(1);
  expect(await stored(gone)).toBeUndefined();
  expect(await counts.backfill()).toBe(0);
});
