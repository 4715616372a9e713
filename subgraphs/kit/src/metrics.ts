import client from 'prom-client';

/** One registry per process; the names are the ones the ops dashboards use (DESIGN.md §8). */
export interface Metrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'method' | 'route' | 'status'>;
  httpTotal: client.Counter<'method' | 'route' | 'status'>;
  graphqlOperations: client.Counter<'operation' | 'outcome'>;
  graphqlErrors: client.Counter<'code'>;
  /** Database round trips, from the driver's command monitoring. */
  mongoCommands: client.Counter<'command'>;
  /** Time the store took per command (sent to reply), by command and collection. */
  mongoCommandDuration: client.Histogram<'command' | 'collection'>;
}

export function createMetrics(service: string): Metrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
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
    graphqlOperations: new client.Counter({
      name: 'graphql_operations_total',
      help: 'GraphQL operations by name and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
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
    graphqlErrors: new client.Counter({
      name: 'graphql_errors_total',
      help: 'GraphQL errors sent to clients, by code',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}
