/**
 * Everything of the kit at once. Prefer a room: `@tm/kit/infra` (running a service),
 * `@tm/kit/graphql` (schema glue), `@tm/kit/contracts` (what subgraphs agree on) and
 * `@tm/kit/storage` (object storage).
 */
export * from './infra';
export * from './graphql';
export * from './contracts';
