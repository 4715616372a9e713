/**
 * `@tm/kit/infra`: what runs a service: configuration, logging, metrics, tracing, MongoDB (with the
 * store breaker) and Redis, the HTTP server, health, shutdown, the signed gateway context, internal
 * calls, events (publisher, outbox relay, stream consumer) and the audit log.
 */
import 'reflect-metadata';

export * from './audit';
export * from './backoff';
export * from './config';
export * from './crypto';
export * from './events';
export * from './health';
export * from './http';
export * from './internal';
export * from './keys';
export * from './logger';
export * from './metrics';
export * from './mongo';
export * from './outbox';
export * from './redis';
export * from './request-scope';
export * from './shutdown';
export * from './signed-context';
export * from './stream-consumer';
export * from './subgraph';
export * from './tracing';
export * from './tracked';
