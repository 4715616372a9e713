import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError, ErrorCode } from '../src/contracts/errors';
import { createFormatError } from '../src/graphql/graphql-errors';
import { createLogger } from '../src/infra/logger';
import { runInScope } from '../src/infra/request-scope';

const formatError = createFormatError(createLogger('test', 'silent'));

/** What Apollo hands to formatError for an error thrown by a resolver. */
function resolverError(original: Error, extensions?: Record<string, unknown>): [GraphQLFormattedError, GraphQLError] {
  const err = new GraphQLError(original.message, {
    path: ['user'],
    originalError: original,
    ...(extensions ? { extensions } : {}),
  });
  const formatted = err.toJSON();
  return [{ ...formatted, extensions: { code: 'INTERNAL_SERVER_ERROR', ...formatted.extensions } }, err];
}

function apolloError(message: string, extensions: Record<string, unknown>): [GraphQLFormattedError, GraphQLError] {
  const err = new GraphQLError(message, { extensions });
  return [err.toJSON(), err];
}

describe('createFormatError', () => {
  it('keeps an AppError code, details and its safe message', () => {
    const app = new AppError(ErrorCode.Forbidden, 'You may not do that', { field: 'projectId' });
    const result = formatError(...resolverError(app));
    expect(result.message).toBe('You may not do that');
    expect(result.path).toEqual(['user']);
    expect(result.extensions).toEqual({ code: 'PERM-001', field: 'projectId' });
  });

  it('masks an unknown error as SYS-002 without leaking its message', () => {
    const secret = 'connection string mongodb://admin:pa55word@db.internal failed at /srv/app/x.ts';
    const result = formatError(...resolverError(new Error(secret)));
    expect(result.message).toBe('Internal server error');
    expect(result.extensions?.code).toBe('SYS-002');
    const json = JSON.stringify(result);
    expect(json).not.toContain('pa55word');
    expect(json).not.toContain(secret);
    expect(json).not.toContain('stacktrace');
  });

  it('maps store outages to DB-001 with a generic message', () => {
    const e = new Error('Server selection timed out after 30000 ms to 10.0.0.5:27017');
    e.name = 'MongooseServerSelectionError';
    const result = formatError(...resolverError(e));
    expect(result.extensions?.code).toBe('DB-001');
    expect(JSON.stringify(result)).not.toContain('10.0.0.5');
  });

  it('maps MongoServerError to DB-002 without leaking its message', () => {
    const e = new Error('E11000 duplicate key error collection: tm.users index: email_1 dup key: { email: "a@b.c" }');
    e.name = 'MongoServerError';
    const result = formatError(...resolverError(e));
    expect(result.extensions?.code).toBe('DB-002');
    expect(JSON.stringify(result)).not.toContain('E11000');
    expect(JSON.stringify(result)).not.toContain('a@b.c');
  });

  it.each(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT'])('maps %s to API-002', (code) => {
    const result = formatError(...apolloError('Cannot query field "nope" on type "Query".', { code }));
    expect(result.extensions?.code).toBe('API-002');
    expect(result.message).toBe('Cannot query field "nope" on type "Query".');
  });

  it('turns class-validator failures into API-002 naming the fields, never the values', () => {
    const original = Object.assign(new Error('Argument Validation Error'), {
      extensions: {
        code: 'BAD_USER_INPUT',
        validationErrors: [
          { property: 'email', constraints: { isEmail: 'email must be an email' }, value: 'secret-value' },
          {
            property: 'profile',
            value: { name: 'secret-nested-value' },
            children: [{ property: 'name', constraints: { maxLength: 'name is too long' }, value: 'secret-nested-value' }],
          },
        ],
      },
    });
    const [formatted, err] = resolverError(original, original.extensions);
    expect(JSON.stringify(formatted)).toContain('secret-value'); // the input really carries it
    const result = formatError(formatted, err);
    expect(result.extensions?.code).toBe('API-002');
    expect(result.extensions?.field).toBe('email');
    expect(result.extensions?.fields).toEqual(['email', 'profile.name']);
    expect(result.message).toContain('email must be an email');
    const json = JSON.stringify(result);
    expect(json).not.toContain('secret-value');
    expect(json).not.toContain('secret-nested-value');
    expect(json).not.toContain('validationErrors');
  });

  it('keeps an existing code and only safe extensions', () => {
    const result = formatError(
      ...apolloError('Forbidden', {
        code: 'PERM-001',
        field: 'taskId',
        retryAfter: 3,
        stacktrace: ['Error: Forbidden', '    at /srv/app/resolver.ts:10'],
        exception: { stacktrace: ['at /srv/app'], secret: 'leak' },
        internalDetail: 'leak-too',
      }),
    );
    expect(result.message).toBe('Forbidden');
    expect(result.extensions).toEqual({ code: 'PERM-001', field: 'taskId', retryAfter: 3 });
    const json = JSON.stringify(result);
    expect(json).not.toContain('stacktrace');
    expect(json).not.toContain('/srv/app');
    expect(json).not.toContain('leak');
  });

  it('masks an unknown code the same way as an unknown error', () => {
    const result = formatError(...apolloError('internal detail /srv', { code: 'SOMETHING_ELSE', stacktrace: ['x'] }));
    expect(result).toEqual({ message: 'Internal server error', extensions: { code: 'SYS-002' } });
  });

  it('reports an unreachable upstream as SYS-002 with a generic message', () => {
    const result = formatError(
      ...resolverError(new Error('request to http://10.0.0.7:4001/graphql failed, reason: connect ECONNREFUSED')),
    );
    expect(result.extensions?.code).toBe('SYS-002');
    expect(result.message).toBe('A backing service is unavailable, try again shortly');
    expect(JSON.stringify(result)).not.toContain('10.0.0.7');
  });

  it('adds the correlation id of the current request scope', () => {
    const app = new AppError(ErrorCode.NotFound, 'Not found');
    const inside = runInScope({ correlationId: 'abc' }, () => formatError(...resolverError(app)));
    expect(inside.extensions).toEqual({ code: 'PERM-002', correlationId: 'abc' });
    const masked = runInScope({ correlationId: 'abc' }, () => formatError(...resolverError(new Error('boom'))));
    expect(masked.extensions).toEqual({ code: 'SYS-002', correlationId: 'abc' });
    const outside = formatError(...resolverError(app));
    expect(outside.extensions).toEqual({ code: 'PERM-002' });
  });

  it('keeps locations and path', () => {
    const err = new GraphQLError('boom', { path: ['a', 0, 'b'], originalError: new Error('boom') });
    const formatted: GraphQLFormattedError = { ...err.toJSON(), locations: [{ line: 2, column: 3 }] };
    const result = formatError(formatted, err);
    expect(result.locations).toEqual([{ line: 2, column: 3 }]);
    expect(result.path).toEqual(['a', 0, 'b']);
  });
});
