/**
 * The error codes clients switch on (README: Errors), and the typed error that carries one.
 * Services throw `AppError`; the GraphQL layer turns it into `extensions.code`.
 */
export enum ErrorCode {
  AuthFailed = 'AUTH-001',
  TokenInvalid = 'AUTH-002',
  MfaRequired = 'AUTH-003',
  Forbidden = 'PERM-001',
  NotFound = 'PERM-002',
  TaskCreateFailed = 'TASK-001',
  TaskUpdateFailed = 'TASK-002',
  ProjectCreateFailed = 'PROJ-001',
  NotProjectMember = 'PROJ-002',
  UploadRefused = 'FILE-001',
  DownloadFailed = 'FILE-002',
  VirusDetected = 'FILE-003',
  DeliveryFailed = 'NOTIF-001',
  DatabaseUnavailable = 'DB-001',
  QueryFailed = 'DB-002',
  RateLimited = 'API-001',
  InvalidRequest = 'API-002',
  Maintenance = 'SYS-001',
  ServiceUnavailable = 'SYS-002',
}

export const ERROR_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** HTTP status that goes with a code when the error ends the whole request. */
export const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.AuthFailed]: 401,
  [ErrorCode.TokenInvalid]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.InvalidRequest]: 400,
  [ErrorCode.Maintenance]: 503,
  [ErrorCode.ServiceUnavailable]: 503,
  [ErrorCode.DatabaseUnavailable]: 503,
};

/** Safe, client-facing details; never put secrets or PII in here. */
export type ErrorDetails = Record<string, string | number | boolean | null | readonly unknown[]>;

export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** A bad argument: `API-002` (or the domain code given) naming the field. */
export function invalidInput(field: string, problem: string, code: ErrorCode = ErrorCode.InvalidRequest): AppError {
  return new AppError(code, `Invalid ${field}: ${problem}`, { field });
}

const STORE_DOWN = [
  'MongooseServerSelectionError',
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNotConnectedError',
  'MongoNetworkTimeoutError',
  'MongoTopologyClosedError',
  'MaxRetriesPerRequestError',
  // a store that stopped answering (timeouts bound every call: REDIS_COMMAND_TIMEOUT_MS, MONGO_TIMEOUT_MS)
  'MongoPoolClearedError',
  'MongoOperationTimeoutError',
  'MongoWaitQueueTimeoutError',
];

/**
 * The MongoDB driver's error labels that say "the store, not the command": a network error or a
 * replica-set failover (RetryableWriteError on e.g. NotWritablePrimary), a pool reset, an
 * overloaded server. Whatever the error's class, these are DB-001, never an "internal error".
 */
const STORE_DOWN_LABELS = [
  'RetryableWriteError',
  'RetryableError',
  'TransientTransactionError',
  'ResetPool',
  'PoolRequestedRetry',
  'InterruptInUseConnections',
  'SystemOverloadedError',
];

/** True for errors that mean Mongo or Redis cannot be reached right now. */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (STORE_DOWN.includes(err.name) || STORE_DOWN.includes(err.constructor?.name)) return true;
  const labels = (err as { errorLabels?: unknown }).errorLabels;
  if (Array.isArray(labels) && labels.some((l) => STORE_DOWN_LABELS.includes(l as string))) return true;
  const m = err.message;
  return (
    m.includes('before initial connection is complete') ||
    m.includes("Stream isn't writeable") ||
    m.includes('Connection is closed') ||
    m.includes('Client must be connected') ||
    m === 'Command timed out'
  );
}

/** Turns any thrown value into an AppError when its meaning is known, else null. */
export function classify(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (isStoreUnavailable(err)) return new AppError(ErrorCode.DatabaseUnavailable, 'Database unavailable, try again shortly');
  if (err instanceof Error && (err.name === 'MongoServerError' || err.name === 'MongoBulkWriteError')) {
    return new AppError(ErrorCode.QueryFailed, 'Database query failed');
  }
  return null;
}

/** A unique-index violation: MongoDB's E11000 (code 11000), on inserts and updates alike. */
export function isDuplicateKeyError(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === 11000;
}
