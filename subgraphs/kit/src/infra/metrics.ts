import client from 'prom-client';
import { metricsSettings, type MetricsSettings } from './config';

/** The `operation` label of operations not counted under their own name (see OperationCounter). */
export const OTHER_OPERATION = 'other';

type OperationLabels = client.LabelValues<'operation' | 'outcome'>;

/**
 * `graphql_operations_total` with a bounded `operation` label: the name is the client's choice, so
 * anyone could otherwise grow the registry (and the scrape) with random names. A name is counted
 * as itself once an operation of that name succeeded, for the first `maxNames` such names;
 * every other operation (names beyond the cap, and failed or refused operations whose name
 * never succeeded, e.g. ones the rate limit refused) is counted as `other`.
 */
export class OperationCounter extends client.Counter<'operation' | 'outcome'> {
  private readonly names = new Set<string>();

  constructor(
    config: client.CounterConfiguration<'operation' | 'outcome'>,
    private readonly maxNames: number,
  ) {
    super(config);
    // prom-client sets `inc` on the instance in its constructor: wrap that one
    const inc = this.inc.bind(this) as (labels: OperationLabels, value?: number) => void;
    this.inc = ((labels?: OperationLabels | number, value?: number) => {
      if (typeof labels !== 'object') return inc({}, labels);
      const operation = String(labels.operation ?? 'anonymous');
      return inc({ ...labels, operation: this.label(operation, String(labels.outcome ?? '')) }, value);
    }) as client.Counter<'operation' | 'outcome'>['inc'];
  }

  /** The label an operation of this name and outcome is counted under. */
  label(operation: string, outcome: string): string {
    if (this.names.has(operation)) return operation;
    if (outcome === 'ok' && this.names.size < this.maxNames) {
      this.names.add(operation);
      return operation;
    }
    return OTHER_OPERATION;
  }
}

/** One registry per process; the names are the ones the ops dashboards use (README: Adding a subgraph). */
export interface Metrics {
  registry: client.Registry;
  /** Where and for whom `/metrics` is served (createHttpApp reads it). */
  settings: MetricsSettings;
  httpDuration: client.Histogram<'method' | 'route' | 'status'>;
  httpTotal: client.Counter<'method' | 'route' | 'status'>;
  graphqlOperations: OperationCounter;
  graphqlErrors: client.Counter<'code'>;
  /** Database round trips, from the driver's command monitoring. */
  mongoCommands: client.Counter<'command'>;
  /** Time the store took per command (sent to reply), by command and collection. */
  mongoCommandDuration: client.Histogram<'command' | 'collection'>;
  /** GraphQL operation latency, start to response, by the bounded operation name, type and outcome. */
  graphqlDuration: client.Histogram<'operation' | 'type' | 'outcome'>;
  /** Lookups of a cache by its name (a fixed set, e.g. `permissions`, `query_plan`) and `hit` / `miss`. */
  cacheRequests: client.Counter<'cache' | 'result'>;
}

/** One sample of a gauge read at scrape time. */
export interface GaugeSample {
  labels: Record<string, string>;
  value: number;
}

const gaugeSources = new WeakMap<client.Registry, Map<string, Set<() => Promise<GaugeSample[]>>>>();

/**
 * Adds a source to a gauge that is read at scrape time, made in this registry on first use: several
 * parts of one process (e.g. two outbox relays, three queues) report under one metric name, each
 * with its own labels. A source that fails is left out of that scrape. Returns the removal.
 */
export function addGaugeSource(
  registry: client.Registry,
  spec: { name: string; help: string; labelNames: string[] },
  source: () => Promise<GaugeSample[]>,
): () => void {
  let byName = gaugeSources.get(registry);
  if (!byName) gaugeSources.set(registry, (byName = new Map()));
  let sources = byName.get(spec.name);
  if (!sources) {
    const set = (sources = new Set());
    byName.set(spec.name, set);
    new client.Gauge({
      ...spec,
      registers: [registry],
      async collect() {
        this.reset(); // labels of a source gone since the last scrape are not reported again
        const all = await Promise.all([...set].map((s) => s().catch(() => [] as GaugeSample[])));
        for (const samples of all) for (const s of samples) this.set(s.labels, s.value);
      },
    });
  }
  sources.add(source);
  return () => sources.delete(source);
}

/**
 * The process's metrics. `settings` (the METRICS_* variables, see config.ts) default to this
 * process's environment, so every service gets them without passing its config along.
 */
export function createMetrics(service: string, settings: MetricsSettings = metricsSettings(service, process.env)): Metrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    settings,
    httpDuration: new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    httpTotal: new client.Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    graphqlOperations: new OperationCounter(
      {
        name: 'graphql_operations_total',
        help: `GraphQL operations by name and outcome (names of operations that succeeded, the first ${settings.maxOperationNames}; else "${OTHER_OPERATION}")`,
        labelNames: ['operation', 'outcome'],
        registers: [registry],
      },
      settings.maxOperationNames,
    ),
    mongoCommands: new client.Counter({
      name: 'mongodb_commands_total',
      help: 'Commands sent to the MongoDB-compatible store (database round trips)',
      labelNames: ['command'],
      registers: [registry],
    }),
    mongoCommandDuration: new client.Histogram({
      name: 'mongodb_command_duration_seconds',
      help: 'Duration of commands sent to the MongoDB-compatible store (sent to reply), by command and collection',
      labelNames: ['command', 'collection'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    graphqlDuration: new client.Histogram({
      name: 'graphql_operation_duration_seconds',
      help: `GraphQL operation latency, request start to response, by operation name (bounded as in graphql_operations_total), type and outcome`,
      labelNames: ['operation', 'type', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    cacheRequests: new client.Counter({
      name: 'cache_requests_total',
      help: 'Cache lookups by cache and result (hit, miss)',
      labelNames: ['cache', 'result'],
      registers: [registry],
    }),
    graphqlErrors: new client.Counter({
      name: 'graphql_errors_total',
      help: 'GraphQL errors sent to clients, by code',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}

/** BullMQ job states reported by `queue_jobs` (what a backlog is made of, and what went wrong). */
export const QUEUE_JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

/**
 * Adds a BullMQ queue to `queue_jobs{queue, state}`, one name for every queue of every service (what
 * the dashboards and the queue-backlog alert read). `counts` is the queue's getJobCounts.
 */
export function watchQueueDepth(
  registry: client.Registry,
  queue: string,
  counts: (...states: Array<(typeof QUEUE_JOB_STATES)[number]>) => Promise<Record<string, number>>,
): () => void {
  return addGaugeSource(
    registry,
    {
      name: 'queue_jobs',
      help: 'BullMQ jobs by queue and state (waiting, prioritized, active, delayed, failed)',
      labelNames: ['queue', 'state'],
    },
    async () => {
      const c = await counts(...QUEUE_JOB_STATES);
      return QUEUE_JOB_STATES.map((state) => ({ labels: { queue, state }, value: c[state] ?? 0 }));
    },
  );
}
