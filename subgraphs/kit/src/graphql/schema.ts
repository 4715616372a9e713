import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { GraphQLScalarType, parse, type GraphQLSchema } from 'graphql';
import { GraphQLDateTimeISO } from 'graphql-scalars';
import { buildSchema, createResolversMap, type BuildSchemaOptions } from 'type-graphql';
import { authChecker } from './auth-checker';
import { AppError, ErrorCode } from '../contracts/errors';

/** The federation spec version every subgraph links, pinned once here. */
export const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible", "@tag", "@override", "@interfaceObject"])';

/** `DateTime` of the public API: ISO-8601 strings out, ISO-8601 strings in. */
export const DateTimeScalar = new GraphQLScalarType({
  ...GraphQLDateTimeISO.toConfig(),
  name: 'DateTime',
  description: 'An ISO-8601 date-time string in UTC, e.g. 2026-11-28T13:37:00.000Z',
});

/** Per type, extra resolvers (`__resolveReference`, fields contributed to other subgraphs' entities). */
/**
 * Subgraphs declare their Subscription fields (so they compose into the supergraph and show in
 * Explorer) but never execute them: the gateway serves subscriptions over graphql-ws from Redis.
 */
export const gatewayServedPubSub = {
  publish(): void {
    throw new AppError(ErrorCode.InvalidRequest, 'Subscriptions are served by the gateway over graphql-ws');
  },
  subscribe(): never {
    throw new AppError(ErrorCode.InvalidRequest, 'Subscriptions are served by the gateway over graphql-ws');
  },
};

export type ReferenceResolvers = Record<string, Record<string, unknown>>;
type SubgraphModule = Extract<Parameters<typeof buildSubgraphSchema>[0], { typeDefs: unknown }>;

/**
 * Builds a federation-2 subgraph schema from type-graphql resolvers: type-graphql knows nothing
 * of `@key`, so the schema is built without checks, printed with its directives, given the
 * federation `@link`, and handed to `buildSubgraphSchema` with the reference resolvers.
 */
export async function buildFederatedSchema(
  options: Omit<BuildSchemaOptions, 'skipCheck' | 'authChecker' | 'scalarsMap'>,
  referenceResolvers: ReferenceResolvers = {},
): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    ...options,
    skipCheck: true,
    authChecker,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: { forbidUnknownValues: false, stopAtFirstError: false },
    pubSub: gatewayServedPubSub,
  });
  const typeDefs = parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(schema)}`);
  const resolvers = createResolversMap(schema) as ReferenceResolvers;
  for (const [type, fields] of Object.entries(referenceResolvers)) {
    resolvers[type] = { ...resolvers[type], ...fields };
  }
  return buildSubgraphSchema({ typeDefs, resolvers: resolvers as SubgraphModule['resolvers'] });
}
