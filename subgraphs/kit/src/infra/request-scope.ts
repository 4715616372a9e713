import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line and error of one request carries. */
export interface RequestScope {
  correlationId: string;
  userId?: string | null;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function runInScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}
