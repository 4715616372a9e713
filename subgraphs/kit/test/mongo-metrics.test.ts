import { randomUUID } from 'node:crypto';
import { getModelForClass, modelOptions, prop } from '@typegoose/typegoose';
import { anyOf, commandCollection, connectMongo, createLogger, createMetrics, type MongoHandle } from '@tm/kit/infra';

/** The store's command monitoring, against the real store: round trips and time per command. */
@modelOptions({ schemaOptions: { collection: 'gauges', versionKey: false } })
class Gauge {
  @prop({ type: String, required: true })
  public _id!: string;

  @prop({ type: String, required: true })
  public group!: string;
}
const GaugeModel = getModelForClass(Gauge);

const metrics = createMetrics('test');
let mongo: MongoHandle;

beforeAll(async () => {
  mongo = connectMongo({
    url: process.env.MONGO_URL!,
    dbName: `t_metrics_${randomUUID().slice(0, 8)}`,
    log: createLogger('test', 'silent'),
    commandCounter: metrics.mongoCommands,
    commandDuration: metrics.mongoCommandDuration,
  });
  await mongo.ready;
});

afterAll(async () => {
  await mongo.connection.db?.dropDatabase();
  await mongo.close();
});

async function series(name: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []) as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
}

it('times every command by command and collection, next to the round-trip count', async () => {
  await GaugeModel.insertMany([
    { _id: 'a', group: 'x' },
    { _id: 'b', group: 'y' },
  ]);
  expect(await GaugeModel.find({ group: anyOf(['x']) }).lean()).toHaveLength(1);
  expect(await GaugeModel.find({ group: anyOf(['x', 'y']) }).lean()).toHaveLength(2);
  await GaugeModel.countDocuments({});

  const values = await series('mongodb_command_duration_seconds');
  const of = (suffix: string, command: string) =>
    values.find(
      (v) =>
        (v as { metricName?: string }).metricName === `mongodb_command_duration_seconds${suffix}` &&
        v.labels.command === command &&
        v.labels.collection === 'gauges',
    );
  expect(of('_count', 'insert')?.value).toBe(1);
  expect(of('_count', 'find')?.value).toBe(2);
  expect(of('_count', 'aggregate')?.value).toBe(1); // countDocuments
  expect(of('_sum', 'find')?.value).toBeGreaterThan(0);
  const counted = (await series('mongodb_commands_total')).find((v) => v.labels.command === 'find');
  expect(counted?.value).toBe(2);
});

it('names the collection of a command, or none', () => {
  expect(commandCollection('find', { find: 'tasks', filter: {} })).toBe('tasks');
  expect(commandCollection('getMore', { getMore: 1, collection: 'tasks' })).toBe('tasks');
  expect(commandCollection('ping', { ping: 1 })).toBe('');
  expect(commandCollection('aggregate', { aggregate: 1, pipeline: [] })).toBe('');
});

it('matches one value by equality and several with $in', () => {
  expect(anyOf(['a'])).toBe('a');
  expect(anyOf(['a', 'b'])).toEqual({ $in: ['a', 'b'] });
  expect(anyOf([])).toEqual({ $in: [] });
});
