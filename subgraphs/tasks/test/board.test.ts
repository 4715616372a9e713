import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { BoardColumnModel, endOfColumn, POSITION_STEP, rebalance, slotAfter, slotAt } from '../src/task/board.order';
import { TaskModel, type Task } from '../src/task/task.model';
import { PRIORITY_RANK, TaskPriority, TaskStatus } from '../src/task/task.enums';

/** Board slots against the real store: the per-column counter, its seeding, and rebalances. */
beforeAll(async () => {
  await mongoose.connect(process.env.MONGO_URL!, { dbName: `t_board_${randomUUID().slice(0, 8)}` });
  await TaskModel.createIndexes();
});

afterAll(async () => {
  await mongoose.connection.db?.dropDatabase();
  await mongoose.disconnect();
});

const column = () => ({ projectId: randomUUID(), status: TaskStatus.TODO });
async function put(col: { projectId: string; status: TaskStatus }, position: number): Promise<string> {
  const _id = randomUUID();
  await TaskModel.create({
    _id,
    ...col,
    title: 't',
    priority: TaskPriority.MEDIUM,
    priorityRank: PRIORITY_RANK[TaskPriority.MEDIUM],
    reporterId: 'u1',
    dueSort: new Date('9999-12-31T00:00:00.000Z'),
    position,
    commentCount: 0,
  });
  return _id;
}
const order = async (col: { projectId: string; status: TaskStatus }) =>
  (
    await TaskModel.find({ ...col, deletedAt: null }, { position: 1 })
      .sort({ position: 1 })
      .lean<Task[]>()
  ).map((t) => [t._id, t.position] as const);

it('hands out distinct end slots to concurrent takers, after the tasks a column already had', async () => {
  const col = column();
  await put(col, 5000); // from before the counter existed
  const slots = await Promise.all(Array.from({ length: 30 }, () => endOfColumn(col)));
  expect(new Set(slots).size).toBe(30);
  expect(Math.min(...slots)).toBeGreaterThan(5000);
  const sorted = [...slots].sort((a, b) => a - b);
  expect(sorted.at(-1)! - sorted[0]!).toBe(29 * POSITION_STEP); // none lost, none given twice
});

it('keeps later end slots after a position placed by hand and after the last task', async () => {
  const col = column();
  await put(col, await endOfColumn(col));
  expect(await slotAt(col, 1e9)).toBe(1e9);
  await put(col, 1e9);
  expect(await endOfColumn(col)).toBeGreaterThan(1e9);
  const last = await slotAfter(col, 1e9);
  expect(last).toBeGreaterThan(1e9);
  expect(await endOfColumn(col)).toBeGreaterThan(last!);
  // by hand into a column nobody took an end slot of yet (no counter so far)
  const fresh = column();
  await put(fresh, 3000);
  expect(await slotAt(fresh, 2000)).toBe(2000);
  expect(await endOfColumn(fresh)).toBe(3000 + POSITION_STEP);
});

it('rebalances into a fresh range, keeping the order, clear of every slot given out', async () => {
  const col = column();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await put(col, 1 + i * 1e-7));
  const taken = await endOfColumn(col);
  await rebalance(col);
  const after = await order(col);
  expect(after.map(([id]) => id)).toEqual(ids);
  const positions = after.map(([, p]) => p);
  expect(positions.every((p) => p > taken)).toBe(true);
  expect(positions.slice(1).map((p, i) => p - positions[i]!)).toEqual(Array(4).fill(POSITION_STEP));
  expect(await endOfColumn(col)).toBeGreaterThan(positions.at(-1)!);
  expect(await BoardColumnModel.countDocuments({ _id: `${col.projectId}:${col.status}` })).toBe(1);
});
