import { getModelForClass, modelOptions, prop } from '@typegoose/typegoose';
import type { Task } from './task.model';
import { TaskModel } from './task.model';
import type { TaskStatus } from './task.enums';

/** Space between neighbours after a rebalance, and between tasks added at the end of a column. */
export const POSITION_STEP = 1024;
/** Below this gap there is no room for a midpoint worth having: the column is rebalanced. */
export const MIN_GAP = 1e-6;

export type Column = { projectId: string; status: TaskStatus };
const live = { deletedAt: null };

/**
 * The slot counter of one board column (`${projectId}:${status}`): `end` is at or beyond every
 * position ever given out in the column. End-of-column slots and rebalance ranges are taken from
 * it by one atomic `$inc` each, so concurrent creates get distinct positions in the order they
 * took them, with no lock and no retry; a position placed beyond `end` by hand raises it first
 * (`$max`). The unique index on (projectId, status, position) stays as the backstop for the one
 * case the counter does not serialise (a mid-column move racing another write to the same spot:
 * the loser decides again).
 */
@modelOptions({ schemaOptions: { collection: 'board_columns', versionKey: false } })
export class BoardColumn {
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: Number, required: true, default: 0 })
  public end!: number;

  /** Set once `end` was raised to the column's highest position (columns from before the counter). */
  @prop({ type: Boolean, default: false })
  public seeded!: boolean;
}

export const BoardColumnModel = getModelForClass(BoardColumn);

const columnKey = (c: Column) => `${c.projectId}:${c.status}`;

/** The first of `count` slots reserved by raising a column's `end` to `end` (the last of them is `end`). */
export function firstReserved(end: number, count: number): number {
  return end - (count - 1) * POSITION_STEP;
}

/** Reserves `count` consecutive slots at the end of a column; returns the first. */
async function reserve(column: Column, count: number): Promise<number> {
  const _id = columnKey(column);
  for (;;) {
    const counter = await BoardColumnModel.findOneAndUpdate(
      { _id, seeded: true },
      { $inc: { end: count * POSITION_STEP } },
      { returnDocument: 'after', projection: { end: 1 } },
    ).lean<BoardColumn>();
    if (counter) return firstReserved(counter.end, count);
    await seed(column);
  }
}

/**
 * Creates (or completes) a column's counter: `end` raised to the highest live position in it.
 * `$max` is monotonic, so seeders racing each other or a reserve only ever raise it.
 */
async function seed(column: Column): Promise<void> {
  const last = await TaskModel.findOne({ ...column }, { position: 1 })
    .sort({ position: -1 })
    .lean<Pick<Task, 'position'>>();
  try {
    await BoardColumnModel.updateOne(
      { _id: columnKey(column) },
      { $max: { end: Math.max(last?.position ?? 0, 0) }, $set: { seeded: true } },
      { upsert: true },
    );
  } catch (err) {
    // two first upserts of one column: the other created it, ours becomes an update on the retry
    if ((err as { code?: number }).code !== 11000) throw err;
    await seed(column);
  }
}

/** A fresh slot at the end of a column (distinct from every other slot handed out). */
export function endOfColumn(column: Column): Promise<number> {
  return reserve(column, 1);
}

/** Before placing a task at a position of the caller's choice: later end slots come after it. */
export async function claim(column: Column, position: number): Promise<void> {
  await BoardColumnModel.updateOne({ _id: columnKey(column) }, { $max: { end: position } }, { upsert: true });
}

async function positionAfter(column: Column, after: number, excludeId?: string): Promise<number | null> {
  const next = await TaskModel.findOne(
    { ...column, ...live, position: { $gt: after }, ...(excludeId ? { _id: { $ne: excludeId } } : {}) },
    { position: 1 },
  )
    .sort({ position: 1 })
    .lean<Pick<Task, 'position'>>();
  return next?.position ?? null;
}

/**
 * Where a task goes in a column: right after `after` (a neighbour's position), before whatever
 * follows it (a fresh end slot when nothing does); `null` when the gap is too small (rebalance first).
 */
export async function slotAfter(column: Column, after: number, movingId?: string): Promise<number | null> {
  const next = await positionAfter(column, after, movingId);
  if (next === null) return endOfColumn(column);
  return midpoint(after, next);
}

/** The position halfway between two neighbours, or `null` when they are too close for one (rebalance first). */
export function midpoint(after: number, next: number): number | null {
  const gap = next - after;
  if (gap < MIN_GAP * 2) return null;
  const mid = after + gap / 2;
  // far from zero, adjacent doubles can be more than 2 * MIN_GAP apart: halfway then rounds onto a neighbour
  return mid > after && mid < next ? mid : null;
}

/**
 * A requested position, made unique: if another task holds it, the midpoint towards the next one.
 */
export async function slotAt(column: Column, requested: number, movingId?: string): Promise<number | null> {
  const holder = await TaskModel.findOne(
    { ...column, ...live, position: requested, _id: { $ne: movingId ?? '' } },
    { _id: 1 },
  ).lean();
  if (holder) return slotAfter(column, requested, movingId);
  await claim(column, requested);
  return requested;
}

/**
 * Spreads a column's positions evenly, keeping its order: the column moves to a fresh range
 * reserved from its counter, so no rewritten position can meet another one (one pass, no lock).
 */
export async function rebalance(column: Column): Promise<void> {
  const tasks = await TaskModel.find({ ...column, ...live }, { _id: 1 })
    .sort({ position: 1, _id: 1 })
    .lean<Array<Pick<Task, '_id'>>>();
  if (tasks.length === 0) return;
  const first = await reserve(column, tasks.length);
  await TaskModel.bulkWrite(
    tasks.map((t, i) => ({
      updateOne: { filter: { _id: t._id, ...column, ...live }, update: { $set: { position: first + i * POSITION_STEP } } },
    })),
    { ordered: false },
  );
}

export { isDuplicateKeyError as isDuplicateKey } from '@tm/kit/contracts';
