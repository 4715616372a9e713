/**
 * `@tm/kit/contracts`: what subgraphs agree on: the error codes clients switch on, project roles and
 * the permissions client, the user and task directories (internal lookups), ops settings, input
 * checks (ids, text) and cursor paging.
 */
import 'reflect-metadata';

export * from './directory';
export * from './errors';
export * from './ops-settings';
export * from './permissions';
export * from './task-directory';
export * from './paging';
export * from './validate';
