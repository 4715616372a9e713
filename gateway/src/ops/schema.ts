import { buildFederatedSchema } from '@tm/kit/graphql';
import type { GraphQLSchema } from 'graphql';
import { AuditResolver } from './audit/audit.resolver';
import { HealthResolver } from './health/health.resolver';
import { SettingsResolver } from './settings/settings.resolver';
import { StatsResolver } from './stats/stats.resolver';

/** The ops subgraph (README: Operations): served inside the gateway process, composed like the others. */
export function buildOpsSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({ resolvers: [SettingsResolver, HealthResolver, StatsResolver, AuditResolver] });
}

/** Root field names of the ops subgraph (Query and Mutation). */
export function opsRootFields(schema: GraphQLSchema): Set<string> {
  const names = new Set<string>();
  for (const t of [schema.getQueryType(), schema.getMutationType()]) {
    for (const name of Object.keys(t?.getFields() ?? {})) if (!name.startsWith('_')) names.add(name);
  }
  return names;
}
