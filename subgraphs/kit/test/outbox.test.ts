import { randomUUID } from 'node:crypto';
import { getModelForClass, modelOptions, prop } from '@typegoose/typegoose';
import mongoose from 'mongoose';
import { Redis } from 'ioredis';
import { createLogger, EventPublisher, OutboxFields, OutboxRelay, pendingEvent } from '@tm/kit/infra';

/**
 * The outbox against the real store and Redis: events written with a change but never sent (a
 * crash, an outage) are sent by the sweep, once, in order; a deleted document goes when its
 * events are out.
 */
@modelOptions({ schemaOptions: { collection: 'outboxItems', versionKey: false } })
class Item extends OutboxFields {
  @prop({ type: String, required: true })
  public _id!: string;
}
const ItemModel = getModelForClass(Item);
const prefix = `t:outbox:${randomUUID().slice(0, 8)}:`;
let redis: Redis;
let relay: OutboxRelay<Item>;

beforeAll(async () => {
  await mongoose.connect(process.env.MONGO_URL!, { dbName: `t_outbox_${randomUUID().slice(0, 8)}` });
  redis = new Redis(process.env.REDIS_URL!, { keyPrefix: prefix });
  const log = createLogger('test', 'silent');
  relay = new OutboxRelay<Item>(ItemModel as never, new EventPublisher('items', redis, log), redis, log);
});

afterAll(async () => {
  await mongoose.connection.db?.dropDatabase();
  await mongoose.disconnect();
  redis.disconnect();
});

const ev = (type: string, id: string) =>
  pendingEvent(type, { id }, { actorId: null, correlationId: null }, { channel: `${prefix}live:items:${id}`, message: { type } });

it('sends events left behind, once and in order, and removes deleted documents afterwards', async () => {
  const sub = new Redis(process.env.REDIS_URL!);
  const live: string[] = [];
  await sub.psubscribe(`${prefix}live:items:*`);
  sub.on('pmessage', (_p, _c, m) => live.push((JSON.parse(m) as { type: string }).type));
  // as if the process died right after writing: events are in the documents, nothing was sent
  await ItemModel.create({ _id: 'a', pendingEvents: [ev('Created', 'a'), ev('Updated', 'a')], hasPending: true });
  await ItemModel.create({ _id: 'b', deletedAt: new Date(), pendingEvents: [ev('Deleted', 'b')], hasPending: true });
  await ItemModel.create({ _id: 'c' });

  expect(await Promise.all([relay.sweep(), relay.sweep()])).toContain(2); // two sweeps at once: no double sends
  await relay.sweep();
  for (let i = 0; i < 40 && live.length < 3; i++) await new Promise((r) => setTimeout(r, 25));

  const stream = await redis.xrange('events:items', '-', '+');
  expect(stream.map(([, f]) => f[1])).toEqual(['Created', 'Updated', 'Deleted']);
  expect(live).toEqual(['Created', 'Updated', 'Deleted']);
  const a = await ItemModel.findById('a').lean();
  expect(a).toMatchObject({ pendingEvents: [], hasPending: false });
  expect(await ItemModel.findById('b').lean()).toBeNull();
  expect(await ItemModel.countDocuments()).toBe(2);
  sub.disconnect();
});

it('sweeps often only while behind: right after start or a failed flush, rarely when all was sent', async () => {
  // its own Redis client, so the test can make this relay's sends fail (a closed connection) and recover
  const own = new Redis(process.env.REDIS_URL!, { keyPrefix: prefix, lazyConnect: true });
  await own.connect();
  const log = createLogger('test', 'silent');
  const rel = new OutboxRelay<Item>(ItemModel as never, new EventPublisher('items', own, log), own, log);
  const pendingOf = async (id: string) => (await ItemModel.findById(id).lean())?.hasPending;
  const until = async (check: () => Promise<boolean>, ms: number) => {
    const deadline = Date.now() + ms;
    while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    return check();
  };
  await ItemModel.create({ _id: 's1', pendingEvents: [ev('Created', 's1')], hasPending: true });
  rel.start(100, 60_000);
  try {
    // just started: the first sweep comes at the short interval (a restart after a crash)
    expect(await until(async () => (await pendingOf('s1')) === false, 3000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300)); // a sweep that finds nothing: idle from here
    // left by another process now: not looked for until the idle interval
    await ItemModel.create({ _id: 's2', pendingEvents: [ev('Created', 's2')], hasPending: true });
    await new Promise((r) => setTimeout(r, 600));
    expect(await pendingOf('s2')).toBe(true);
    // a flush of this process fails (Redis connection closed): short interval again, so once Redis
    // is back both documents go out without anyone flushing them
    await ItemModel.create({ _id: 's3', pendingEvents: [ev('Created', 's3')], hasPending: true });
    own.disconnect();
    await rel.flushQuietly('s3');
    expect(await pendingOf('s3')).toBe(true);
    await own.connect();
    expect(await until(async () => (await pendingOf('s2')) === false && (await pendingOf('s3')) === false, 3000)).toBe(true);
  } finally {
    await rel.stop();
    own.disconnect();
  }
});

it('keeps an event pushed while a flush runs, and never clears hasPending over it', async () => {
  const log = createLogger('test', 'silent');
  // a publisher that lets the test write to the document between the read and the clearing
  let pushDuringSend: (() => Promise<void>) | undefined;
  const publisher = new EventPublisher('items', redis, log);
  const slow = Object.assign(Object.create(publisher) as EventPublisher, {
    append: async (e: Parameters<EventPublisher['append']>[0]) => {
      const push = pushDuringSend;
      pushDuringSend = undefined;
      await push?.();
      return publisher.append(e);
    },
  });
  const rel = new OutboxRelay<Item>(ItemModel as never, slow, redis, log);
  await ItemModel.create({ _id: 'r1', pendingEvents: [ev('Created', 'r1')], hasPending: true });
  const late = ev('Updated', 'r1');
  pushDuringSend = async () => {
    await ItemModel.updateOne({ _id: 'r1' }, { $push: { pendingEvents: late }, $set: { hasPending: true } });
  };
  await rel.flush('r1');
  const after = await ItemModel.findById('r1').lean();
  expect(after?.pendingEvents.map((p) => p.id)).toEqual([late.id]); // the late event stays, the sent one is gone
  expect(after?.hasPending).toBe(true); // so a sweep still finds it
  await rel.flush('r1');
  expect(await ItemModel.findById('r1').lean()).toMatchObject({ pendingEvents: [], hasPending: false });
});

it('sends the outbox a write returned without reading the document, and reads it for a second round', async () => {
  const log = createLogger('test', 'silent');
  const sub = new Redis(process.env.REDIS_URL!);
  const live: string[] = [];
  await sub.subscribe(`${prefix}live:items:w1`);
  sub.on('message', (_c, m) => live.push((JSON.parse(m) as { type: string }).type));
  const reads: string[] = [];
  const model = Object.assign(Object.create(ItemModel) as typeof ItemModel, {
    findById: (...args: Parameters<typeof ItemModel.findById>) => {
      reads.push(String(args[0]));
      return ItemModel.findById(...args);
    },
  });
  const rel = new OutboxRelay<Item>(model as never, new EventPublisher('items', redis, log), redis, log);
  // the write: as a change's findOneAndUpdate returns the document with its outbox
  const written = await ItemModel.findOneAndUpdate(
    { _id: 'w1' },
    { $push: { pendingEvents: ev('Created', 'w1') }, $set: { hasPending: true } },
    { upsert: true, returnDocument: 'after' },
  ).lean();
  await rel.flush('w1', { pendingEvents: written!.pendingEvents, deletedAt: null });
  expect(reads).toEqual([]);
  expect(await ItemModel.findById('w1').lean()).toMatchObject({ pendingEvents: [], hasPending: false });
  // a flush asked for while one runs: its second round reads what was pushed meanwhile
  const second = await ItemModel.findOneAndUpdate(
    { _id: 'w1' },
    { $push: { pendingEvents: ev('Updated', 'w1') }, $set: { hasPending: true } },
    { returnDocument: 'after' },
  ).lean();
  const first = rel.flush('w1', { pendingEvents: second!.pendingEvents, deletedAt: null });
  await ItemModel.updateOne({ _id: 'w1' }, { $push: { pendingEvents: ev('Moved', 'w1') }, $set: { hasPending: true } });
  await Promise.all([first, rel.flush('w1')]);
  expect(reads).toEqual(['w1']);
  for (let i = 0; i < 40 && live.length < 3; i++) await new Promise((r) => setTimeout(r, 25));
  expect(live).toEqual(['Created', 'Updated', 'Moved']);
  expect(await ItemModel.findById('w1').lean()).toMatchObject({ pendingEvents: [], hasPending: false });
  sub.disconnect();
});
