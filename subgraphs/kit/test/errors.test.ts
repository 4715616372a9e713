import { AppError, classify, ErrorCode, invalidInput, isStoreUnavailable } from '../src/contracts/errors';
import { mongo } from 'mongoose';

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

describe('classify', () => {
  it('returns an AppError unchanged', () => {
    const err = new AppError(ErrorCode.Forbidden, 'nope', { field: 'x' });
    expect(classify(err)).toBe(err);
  });

  it.each([
    ['MongooseServerSelectionError', 'Server selection timed out after 30000 ms'],
    ['MongoServerSelectionError', 'connect ECONNREFUSED 127.0.0.1:27017'],
    ['MongoNetworkError', 'connection 1 to 127.0.0.1:27017 closed'],
    ['MongoNotConnectedError', 'Client must be connected before running operations'],
    ['MongoNetworkTimeoutError', 'connection timed out'],
    ['MongoTopologyClosedError', 'Topology is closed'],
    ['MaxRetriesPerRequestError', 'Reached the max retries per request limit'],
    [
      'MongooseError',
      'Cannot call `users.findOne()` before initial connection is complete if `bufferCommands = false`. Make sure you `await mongoose.connect()`',
    ],
    ['Error', "Stream isn't writeable and enableOfflineQueue options is false"],
    ['Error', 'Connection is closed.'],
  ])('maps %s (%s) to DB-001', (name, message) => {
    const err = named(name, message);
    expect(isStoreUnavailable(err)).toBe(true);
    const app = classify(err);
    expect(app).toBeInstanceOf(AppError);
    expect(app?.code).toBe(ErrorCode.DatabaseUnavailable);
    expect(app?.code).toBe('DB-001');
    expect(app?.message).not.toContain(message);
  });

  it('recognises a store error by its class name', () => {
    class MongoNetworkError extends Error {}
    expect(classify(new MongoNetworkError('boom'))?.code).toBe('DB-001');
  });

  it('maps a driver error labelled as the store’s (failover, pool reset, network) to DB-001 whatever its class', () => {
    // what a replica set's primary answers while it steps down: retryable, so the store, not the command
    const notPrimary = new mongo.MongoServerError({ errmsg: 'not primary', code: 10107, errorLabels: ['RetryableWriteError'] });
    expect(classify(notPrimary)?.code).toBe('DB-001');
    const reset = new mongo.MongoRuntimeError('connection reset while reading');
    reset.addErrorLabel('ResetPool');
    expect(classify(reset)?.code).toBe('DB-001');
    // unlabelled: the command's own failure stays DB-002
    expect(classify(new mongo.MongoServerError({ errmsg: 'bad $set', code: 9 }))?.code).toBe('DB-002');
    expect(classify(new mongo.MongoRuntimeError('odd'))).toBeNull();
  });

  it('maps MongoServerError and MongoBulkWriteError to DB-002', () => {
    const err = named('MongoServerError', 'E11000 duplicate key error collection: tm.users index: email_1 dup key');
    const app = classify(err);
    expect(app?.code).toBe(ErrorCode.QueryFailed);
    expect(app?.code).toBe('DB-002');
    expect(app?.message).not.toContain('E11000');
    expect(classify(named('MongoBulkWriteError', 'bulk'))?.code).toBe('DB-002');
  });

  it('returns null for errors of unknown meaning', () => {
    expect(classify(new Error('something odd'))).toBeNull();
    expect(classify(new TypeError('x is undefined'))).toBeNull();
    expect(classify(named('ValidationError', 'bad'))).toBeNull();
    expect(classify('a string')).toBeNull();
    expect(classify(undefined)).toBeNull();
    expect(classify(null)).toBeNull();
    expect(classify({ name: 'MongoServerError', message: 'not an Error instance' })).toBeNull();
    expect(isStoreUnavailable({ name: 'MongoNetworkError', message: 'x' })).toBe(false);
  });
});

describe('invalidInput', () => {
  it('names the field and uses API-002 by default', () => {
    const err = invalidInput('email', 'must be an email address');
    expect(err).toBeInstanceOf(AppError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AppError');
    expect(err.code).toBe('API-002');
    expect(err.details).toEqual({ field: 'email' });
    expect(err.message).toContain('email');
    expect(err.message).toContain('must be an email address');
  });

  it('takes a domain code', () => {
    const err = invalidInput('title', 'is empty', ErrorCode.TaskCreateFailed);
    expect(err.code).toBe('TASK-001');
    expect(err.details.field).toBe('title');
  });
});

describe('AppError', () => {
  it('defaults details to an empty object', () => {
    expect(new AppError(ErrorCode.NotFound, 'gone').details).toEqual({});
  });
});
