import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { createLogger } from '@tm/kit/infra';
import { CommentCounts } from '../src/comment/comment-count.service';
import { CommentModel } from '../src/comment/comment.model';
import { TaskModel, type Task } from '../src/task/task.model';
import { PRIORITY_RANK, TaskPriority, TaskStatus } from '../src/task/task.enums';

/**
 * Task.commentCount against the real store: `$inc` per added comment (exact under concurrency,
 * no lock), never made to look known when it is not, filled in for tasks that lack it, repaired
 * by a recount.
 */
let counts: CommentCounts;

beforeAll(async () => {
  await mongoose.connect(process.env.MONGO_URL!, { dbName: `t_counts_${randomUUID().slice(0, 8)}` });
  await TaskModel.createIndexes();
  counts = new CommentCounts(createLogger('test', 'silent'));
});

afterAll(async () => {
  await mongoose.connection.db?.dropDatabase();
  await mongoose.disconnect();
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
const comment = (taskId: string) =>
  CommentModel.create({ _id: randomUUID(), taskId, projectId: 'p1', authorId: 'u1', body: 'b' });
/** What CommentService.add does once the comment is in. */
const add = async (taskId: string) => {
  await comment(taskId);
  return counts.added(taskId);
};

it('counts every one of many concurrent adds (a store that loses updates loses some)', async () => {
  const taskId = await newTask();
  const results = await Promise.all(Array.from({ length: 40 }, () => add(taskId)));
  expect(results.every(Boolean)).toBe(true);
  expect(await stored(taskId)).toBe(40);
  expect((await counts.countFor([taskId])).get(taskId)).toBe(40);
});

it('says when the task is gone, and never makes an unknown count look known', async () => {
  expect(await counts.added(await newTask({ deletedAt: new Date() }))).toBe(false);
  expect(await counts.added(randomUUID())).toBe(false);
  const unknown = await newTask({ commentCount: null });
  expect(await add(unknown)).toBe(true);
  expect(await stored(unknown)).toBeNull(); // still unknown: readers count it
  const legacy = await newTask();
  await TaskModel.updateOne({ _id: legacy }, { $unset: { commentCount: '' } });
  expect(await add(legacy)).toBe(true);
  expect(await stored(legacy)).toBeUndefined();
});

it('repairs a wrong count from the comments (ADMIN synchronize)', async () => {
  const taskId = await newTask();
  await Promise.all([add(taskId), add(taskId), comment(taskId)]); // the last as if the process died before its $inc
  expect(await stored(taskId)).toBe(2);
  expect(await counts.recount(taskId)).toBe(3);
  expect(await stored(taskId)).toBe(3);
  await add(taskId);
  expect(await stored(taskId)).toBe(4);
});

it('fills in the count of tasks that have none, and only those', async () => {
  const old = await newTask();
  await TaskModel.updateOne({ _id: old }, { $unset: { commentCount: '' } });
  await Promise.all([comment(old), comment(old)]);
  const unknown = await newTask({ commentCount: null });
  await comment(unknown);
  const none = await newTask({ commentCount: null });
  const gone = await newTask({ deletedAt: new Date() });
  await TaskModel.updateOne({ _id: gone }, { $unset: { commentCount: '' } });
  const known = await newTask({ commentCount: 7 });
  const before = await counts.backfill();
  expect(before).toBeGreaterThanOrEqual(3); // earlier tests left unknown ones too
  expect(await stored(old)).toBe(2);
  expect(await stored(unknown)).toBe(1);
  expect(await stored(none)).toBe(0);
  expect(await stored(gone)).toBeUndefined();
  expect(await stored(known)).toBe(7);
  expect(await counts.backfill()).toBe(0);
});
