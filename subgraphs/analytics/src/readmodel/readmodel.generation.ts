import { getModelForClass, modelOptions, prop, type ReturnModelType } from '@typegoose/typegoose';
import mongoose from 'mongoose';
import { DailyBucket, TaskFact } from './task-fact.model';

/**
 * Which generation of the read model answers queries (`current`) and which one a rebuild is
 * filling (`building`). Each generation has its own collections (`task_facts_g<n>`,
 * `daily_buckets_g<n>`), so a rebuild fills fresh ones and a switch is one update of this document.
 */
@modelOptions({ schemaOptions: { collection: 'read_model', versionKey: false } })
export class ReadModelPointer {
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: Number, required: true })
  public current!: number;

  @prop({ type: Number, default: null })
  public building?: number | null;

  /** The generation before the last switch (kept for a rollback; older ones are dropped). */
  @prop({ type: Number, default: null })
  public previous?: number | null;

  @prop({ type: Date })
  public switchedAt?: Date;
}

export const ReadModelPointerModel = getModelForClass(ReadModelPointer);
export const POINTER_ID = 'pointer';

export interface Generation {
  n: number;
  facts: ReturnModelType<typeof TaskFact>;
  buckets: ReturnModelType<typeof DailyBucket>;
}

const cache = new Map<number, Generation>();
const indexed = new Set<number>();

export const factsCollection = (n: number) => `task_facts_g${n}`;
export const bucketsCollection = (n: number) => `daily_buckets_g${n}`;

/** The models of one generation (indexes created once per process). */
export async function generation(n: number): Promise<Generation> {
  let g = cache.get(n);
  if (!g) {
    g = {
      n,
      facts: getModelForClass(TaskFact, {
        schemaOptions: { collection: factsCollection(n) },
        options: { customName: `TaskFact_g${n}`, automaticName: false },
      }),
      buckets: getModelForClass(DailyBucket, {
        schemaOptions: { collection: bucketsCollection(n) },
        options: { customName: `DailyBucket_g${n}`, automaticName: false },
      }),
    };
    cache.set(n, g);
  }
  if (!indexed.has(n)) {
    await Promise.all([g.facts.createIndexes(), g.buckets.createIndexes()]);
    indexed.add(n);
  }
  return g;
}

/** The pointer, created on first use (generation 1). */
export async function readPointer(): Promise<ReadModelPointer> {
  const found = await ReadModelPointerModel.findById(POINTER_ID).lean<ReadModelPointer>();
  if (found) return found;
  try {
    await ReadModelPointerModel.create({ _id: POINTER_ID, current: 1, building: null, previous: null, switchedAt: new Date() });
  } catch {
    // created meanwhile by another process
  }
  return (await ReadModelPointerModel.findById(POINTER_ID).lean<ReadModelPointer>())!;
}

/** Drops a generation's collections (after a switch: generations older than the previous one). */
export async function dropGeneration(n: number): Promise<void> {
  const db = mongoose.connection.db;
  if (!db) return;
  for (const name of [factsCollection(n), bucketsCollection(n)]) await db.dropCollection(name).catch(() => false);
  indexed.delete(n);
}

/**
 * The generation queries read, re-read at most every `ttlMs` (a switch reaches every process
 * within that time).
 */
export class CurrentGeneration {
  private cached: { at: number; g: Generation } | undefined;

  constructor(private readonly ttlMs = 1000) {}

  async get(): Promise<Generation> {
    if (this.cached && Date.now() - this.cached.at < this.ttlMs) return this.cached.g;
    const p = await readPointer();
    const g = await generation(p.current);
    this.cached = { at: Date.now(), g };
    return g;
  }
}
