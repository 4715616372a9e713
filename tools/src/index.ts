export * from './devstack';
export * from './net';
