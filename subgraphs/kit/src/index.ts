import 'reflect-metadata';

export * from './auth-checker';
export * from './backoff';
export * from './config';
export * from './errors';
export * from './graphql-errors';
export * from './health';
export * from './http';
export * from './keys';
export * from './logger';
export * from './metrics';
export * from './mongo';
export * from './redis';
export * from './request-scope';
export * from './schema';
export * from './shutdown';
export * from './signed-context';
export * from './subgraph';
