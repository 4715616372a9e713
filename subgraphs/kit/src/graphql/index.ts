/**
 * `@tm/kit/graphql`: the GraphQL glue every subgraph shares: building a federated schema with
 * type-graphql, the auth checker, Relay connection types, error formatting and field selection.
 */
import 'reflect-metadata';

export * from './auth-checker';
export * from './connection';
export * from './graphql-errors';
export * from './schema';
export * from './selection';
