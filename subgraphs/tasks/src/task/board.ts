import type { Task } from './task.model';
import { TaskModel } from './task.model';
import type { TaskStatus } from './task-enums';

/** Space between neighbours after a rebalance, and for tasks added at the end of a column. */
export const POSITION_STEP = 1024;
/** Below this gap there is no room for a midpoint worth having: the column is rebalanced. */
export const MIN_GAP = 1e-6;

type Column = { projectId: string; status: TaskStatus };
const live = { deletedAt: null };

async function positionAfter(column: Column, after: number, excludeId?: string): Promise<number | null> {
  const next = await TaskModel.findOne({ ...column, ...live, position: { $gt: after }, ...(excludeId ? { _id: { $ne: excludeId } } : {}) }, { position: 1 })
    .sort({ position: 1 })
    .lean<Pick<Task, 'position'>>();
  return next?.position ?? null;
}

/** The position at the end of a column. */
export async function endOfColumn(column: Column): Promise<number> {
  const last = await TaskModel.findOne({ ...column, ...live }, { position: 1 }).sort({ position: -1 }).lean<Pick<Task, 'position'>>();
  return (last?.position ?? 0) + POSITION_STEP;
}

/**
 * Where a task goes in a column: right after `after` (a neighbour's position), before whatever
 * follows it; `null` when the gap is too small (rebalance first).
 */
export async function slotAfter(column: Column, after: number, movingId?: string): Promise<number | null> {
  const next = await positionAfter(column, after, movingId);
  if (next === null) return after + POSITION_STEP;
  const gap = next - after;
  return gap < MIN_GAP * 2 ? null : after + gap / 2;
}

/**
 * A requested position, made unique: if another task holds it, the midpoint towards the next one.
 */
export async function slotAt(column: Column, requested: number, movingId?: string): Promise<number | null> {
  const holder = await TaskModel.findOne({ ...column, ...live, position: requested, _id: { $ne: movingId ?? '' } }, { _id: 1 }).lean();
  return holder ? slotAfter(column, requested, movingId) : requested;
}

/**
 * Spreads a column's positions evenly, keeping its order. Two passes (negatives, then the final
 * values) so the unique index on (project, status, position) never sees two equal positions.
 */
export async function rebalance(column: Column): Promise<void> {
  const tasks = await TaskModel.find({ ...column, deletedAt: null }, { _id: 1 }).sort({ position: 1, _id: 1 }).lean<Array<Pick<Task, '_id'>>>();
  if (tasks.length === 0) return;
  await TaskModel.bulkWrite(tasks.map((t, i) => ({ updateOne: { filter: { _id: t._id }, update: { $set: { position: -(i + 1) } } } })));
  await TaskModel.bulkWrite(tasks.map((t, i) => ({ updateOne: { filter: { _id: t._id }, update: { $set: { position: (i + 1) * POSITION_STEP } } } })));
}

export { isDuplicateKeyError as isDuplicateKey } from '@tm/kit';
