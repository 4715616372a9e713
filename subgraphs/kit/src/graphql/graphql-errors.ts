import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { classify, ERROR_CODES, ErrorCode } from '../contracts/errors';
import type { Logger } from '../infra/logger';
import type { Metrics } from '../infra/metrics';
import { currentScope } from '../infra/request-scope';

/** Apollo's own codes for a request that is malformed or invalid: all become API-002. */
const INVALID_REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PERSISTED_QUERY_NOT_FOUND',
]);

/** A subgraph or upstream that cannot be reached (the gateway's fetch errors). */
const UNREACHABLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|fetch failed|socket hang up|UND_ERR|other side closed/i;

/**
 * Extensions a client may see besides `code` and `correlationId`. `mfaToken` is the one token an
 * error is meant to carry: the short-lived MFA-step token of an `AUTH-003` that asks for enrollment.
 */
const SAFE_EXTENSIONS = ['field', 'fields', 'retryAfter', 'service', 'currentVersion', 'mfaEnrollmentRequired', 'mfaToken'];

function withScope(err: GraphQLFormattedError, code: string, extra: Record<string, unknown> = {}): GraphQLFormattedError {
  const correlationId = currentScope()?.correlationId;
  return {
    message: err.message,
    ...(err.locations ? { locations: err.locations } : {}),
    ...(err.path ? { path: err.path } : {}),
    extensions: { code, ...extra, ...(correlationId ? { correlationId } : {}) },
  };
}

interface ValidationFailure {
  property: string;
  constraints?: Record<string, string>;
  children?: ValidationFailure[];
}

function flattenValidation(errors: ValidationFailure[], prefix = ''): Array<{ field: string; problems: string[] }> {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, problems: Object.values(e.constraints) }] : [];
    return [...own, ...flattenValidation(e.children ?? [], field)];
  });
}

/**
 * Apollo `formatError`: every error leaves with a code from README: Errors, a safe message and the
 * correlation id. Errors of unknown meaning are logged in full and masked.
 */
export function createFormatError(log: Logger, metrics?: Metrics) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const result = format(formatted, error, log);
    metrics?.graphqlErrors.inc({ code: String(result.extensions?.code) });
    return result;
  };
}

function format(formatted: GraphQLFormattedError, error: unknown, log: Logger): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const app = classify(original);
  if (app) {
    if (app.code === ErrorCode.DatabaseUnavailable || app.code === ErrorCode.QueryFailed) {
      log.error({ err: original }, 'store error');
    }
    return withScope({ ...formatted, message: app.message }, app.code, app.details);
  }
  const validation = (original as { extensions?: { validationErrors?: ValidationFailure[] } } | undefined)?.extensions
    ?.validationErrors;
  if (Array.isArray(validation)) {
    const fields = flattenValidation(validation);
    const message = `Invalid input: ${fields.map((f) => f.problems.join(', ')).join('; ')}`;
    return withScope({ ...formatted, message }, ErrorCode.InvalidRequest, {
      field: fields[0]?.field ?? null,
      fields: fields.map((f) => f.field),
    });
  }
  const code = String(formatted.extensions?.code ?? '');
  if (INVALID_REQUEST_CODES.has(code)) return withScope(formatted, ErrorCode.InvalidRequest);
  if (ERROR_CODES.has(code)) {
    // already coded (e.g. a subgraph's error passed through the gateway): keep only safe extensions
    const extra: Record<string, unknown> = {};
    for (const k of SAFE_EXTENSIONS) if (formatted.extensions?.[k] !== undefined) extra[k] = formatted.extensions[k];
    return withScope(formatted, code, extra);
  }
  if (UNREACHABLE.test(formatted.message)) {
    log.warn({ err: original instanceof Error ? original : error }, 'backing service unreachable');
    return withScope(
      { ...formatted, message: 'A backing service is unavailable, try again shortly' },
      ErrorCode.ServiceUnavailable,
    );
  }
  log.error({ err: original instanceof Error ? original : error, code }, 'unexpected error');
  return withScope({ ...formatted, message: 'Internal server error' }, ErrorCode.ServiceUnavailable);
}

/**
 * Counts and times operations by name and outcome, and logs one line per operation (name, duration, error
 * codes; at debug level the variable names too, never their values).
 */
export function operationMetricsPlugin(metrics: Metrics, log?: Logger): ApolloServerPlugin {
  return {
    async requestDidStart({ request }) {
      const started = performance.now();
      return {
        async willSendResponse({ operationName, operation: parsed, response }) {
          const body = response.body;
          const errors = body.kind === 'single' ? (body.singleResult.errors ?? []) : [];
          const operation = operationName ?? 'anonymous';
          const outcome = errors.length > 0 ? 'error' : 'ok';
          metrics.graphqlOperations.inc({ operation, outcome });
          // the same bounded name as the counter; `unknown` type: not parsed (syntax error, refused before)
          metrics.graphqlDuration.observe(
            { operation: metrics.graphqlOperations.label(operation, outcome), type: parsed?.operation ?? 'unknown', outcome },
            (performance.now() - started) / 1000,
          );
          log?.info(
            {
              operation,
              durationMs: Math.round(performance.now() - started),
              errors: errors.map((e) => e.extensions?.code),
              ...(log.isLevelEnabled('debug') ? { variableNames: Object.keys(request.variables ?? {}) } : {}),
            },
            'graphql operation',
          );
        },
      };
    },
  };
}
