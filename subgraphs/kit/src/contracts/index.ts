/**
 * `@tm/kit/contracts`: what subgraphs agree on: the error codes clients switch on, project roles and
 * the permissions client, the user and task directories (internal lookups), and ops settings.
 */
import 'reflect-metadata';

export * from './directory';
export * from './errors';
export * from './ops-settings';
export * from './permissions';
export * from './task-directory';
