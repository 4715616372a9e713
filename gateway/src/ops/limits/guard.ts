import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { ErrorCode, type OpsSettings } from '@tm/kit/contracts';
import { decodeJwt } from 'jose';
import {
  GraphQLError,
  Kind,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import type { GatewayContext } from '../../gateway.context';
import type { OperationStats } from '../stats/stats.service';
import {
  asksForIntrospection,
  limitError,
  operationCost,
  rootFieldNames,
  withoutSuggestions,
  type LimitName,
  type OperationLimits,
} from './operation-limits';
import { RateLimits } from './rate-limit';

/** Operations that reach the gateway during maintenance: sign-in, so an admin can get (and keep) a token. */
const SIGN_IN_FIELDS = new Set(['login', 'refreshToken']);

export interface GuardOptions {
  settings: () => OpsSettings;
  rateLimits: RateLimits;
  limits: OperationLimits;
  /** Root fields of the ops subgraph: always reachable by admins (so limits never lock operators out). */
  opsFields: ReadonlySet<string>;
  /** Introspection and field suggestions for everyone (else only for ADMIN tokens). */
  introspection: boolean;
  stats: OperationStats;
  violated: (limit: LimitName) => void;
}

function rateLimited(retryAfterSeconds: number, message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: ErrorCode.RateLimited,
      retryAfter: retryAfterSeconds,
      // Apollo Server merges these into the response (a Map; another package's typing says Record)
      http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) as never },
    },
  });
}

/** True when a sign-in result carries an ADMIN access token (the only sign-in let through in maintenance). */
function signedInAsAdmin(data: Record<string, unknown> | null | undefined): boolean {
  const payloads = Object.values(data ?? {});
  if (payloads.length === 0) return false;
  return payloads.every((p) => {
    const token = (p as { accessToken?: unknown } | null)?.accessToken;
    if (typeof token !== 'string') return false;
    try {
      const roles = decodeJwt(token).roles;
      return Array.isArray(roles) && roles.includes('ADMIN');
    } catch {
      return false;
    }
  });
}

/**
 * Per-document results (Apollo Server hands out the same parsed document for the same query text),
 * so the checks below walk a document once, not once per request. Bounded per document.
 */
const perDocument = new WeakMap<object, Map<string, unknown>>();
function memo<T>(document: object, key: string, compute: () => T): T {
  let m = perDocument.get(document);
  if (!m) {
    m = new Map();
    perDocument.set(document, m);
  }
  if (m.has(key)) return m.get(key) as T;
  const v = compute();
  if (m.size < 64) m.set(key, v);
  return v;
}

/** One operation as the guard sees it. */
export interface GuardedOperation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  schema: GraphQLSchema;
  variables: Record<string, unknown>;
  context: GatewayContext;
}

/**
 * The guard's checks on one resolved operation (see the plugin below); throws the refusal.
 * Returns 'sign-in' for a sign-in let through during maintenance (its response decides).
 */
export async function guardOperation(opts: GuardOptions, op: GuardedOperation): Promise<'sign-in' | undefined> {
  const { document, operation, schema, variables, context } = op;
  const admin = context.user?.roles?.includes('ADMIN') ?? false;
  if (!opts.introspection && !admin && memo(document, 'introspection', () => asksForIntrospection(schema, document))) {
    opts.violated('introspection');
    throw limitError('Introspection is disabled');
  }
  const fields = memo(document, `fields:${operation.name?.value ?? ''}`, () => rootFieldNames(document, operation));
  if (fields.length > opts.limits.maxRootFields) {
    opts.violated('root_fields');
    throw limitError(`Too many root fields: ${fields.length}, at most ${opts.limits.maxRootFields}`);
  }
  const costKey = `cost:${operation.name?.value ?? ''}:${JSON.stringify(variables)}`;
  const compute = () => operationCost(schema, document, operation, variables, opts.limits.defaultListSize);
  const cost = costKey.length <= 512 ? memo(document, costKey, compute) : compute();
  if (cost > opts.limits.maxCost) {
    opts.violated('cost');
    throw limitError(
      `Operation too expensive: cost ${Number.isFinite(cost) ? cost : 'unbounded'}, at most ${opts.limits.maxCost}`,
    );
  }

  if (!context.transport) return undefined;
  const opsOnly = fields.every((f) => opts.opsFields.has(f) || f.startsWith('__'));
  if (admin && opsOnly) return undefined;

  const s = opts.settings();
  const throttled = await opts.rateLimits.consumeGlobal(s);
  if (throttled) throw rateLimited(throttled.retryAfterSeconds, 'The API is throttled, try again later');
  const clientId = RateLimits.clientId(context.user?.userId ?? null, context.clientIp);
  const limited = await opts.rateLimits.consumeClient(clientId, s);
  if (limited) throw rateLimited(limited.retryAfterSeconds, 'Rate limit exceeded, try again later');

  if (s.maintenance.enabled) {
    if (operation.operation === 'mutation' && fields.length > 0 && fields.every((f) => SIGN_IN_FIELDS.has(f))) return 'sign-in';
    throw new GraphQLError(s.maintenance.message, { extensions: { code: ErrorCode.Maintenance, http: { status: 503 } } });
  }
  return undefined;
}

/**
 * The request-path controls of the ops plane, after parsing and validation (depth, aliases,
 * directives and tokens are validation/parser limits) and before any subgraph is called:
 * 1. introspection (production: ADMIN only), root-field count, cost;
 * 2. the emergency throttle, then the client's rate limit (API-001, HTTP 429, Retry-After);
 * 3. maintenance mode (SYS-001, HTTP 503).
 * An admin's operations on the ops subgraph skip 2 and 3, so the controls can always be undone.
 * Only client requests (HTTP, socket) are counted and refused here; operations the gateway runs for
 * itself (live updates, presence) carry no `transport` and pass.
 * It also records every operation's duration for `slowOperations`.
 */
export function opsGuardPlugin(opts: GuardOptions): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      const admin = contextValue.user?.roles?.includes('ADMIN') ?? false;
      let signInDuringMaintenance = false;
      return {
        async didEncounterErrors({ errors }) {
          for (const e of errors) {
            if (/Document contains more tha[nt] \d+ tokens/.test(e.message)) opts.violated('tokens');
            if (!opts.introspection && !admin && / ?Did you mean /.test(e.message)) e.message = withoutSuggestions(e.message);
          }
        },

        async didResolveOperation({ document, operation, schema, request }) {
          if (!operation) return; // Apollo refuses it itself
          const passed = await guardOperation(opts, {
            document,
            operation,
            schema,
            variables: request.variables ?? {},
            context: contextValue,
          });
          if (passed === 'sign-in') signInDuringMaintenance = true; // let through; refused below unless it signed in an ADMIN
        },

        async willSendResponse({ response, operationName }) {
          opts.stats.record(operationName ?? 'anonymous', performance.now() - started);
          if (!signInDuringMaintenance || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (signedInAsAdmin(result.data as Record<string, unknown> | null | undefined)) return;
          const s = opts.settings();
          const correlationId = contextValue.correlationId;
          response.body.singleResult = {
            data: null,
            errors: [
              {
                message: s.maintenance.message,
                extensions: { code: ErrorCode.Maintenance, ...(correlationId ? { correlationId } : {}) },
              },
            ],
          };
          response.http.status = 503;
        },
      };
    },
  };
}

/** A refusal as a client sees it (the formatter's codes: API-001, API-002, SYS-001). */
export interface Refusal {
  message: string;
  extensions: { code: string; retryAfter?: number };
}

function refusalOf(err: GraphQLError): Refusal {
  const code = String(err.extensions.code ?? '');
  const retryAfter = err.extensions.retryAfter;
  return {
    message: err.message,
    extensions: {
      code: code.includes('-') ? code : ErrorCode.InvalidRequest,
      ...(typeof retryAfter === 'number' ? { retryAfter } : {}),
    },
  };
}

/**
 * What a client operation passes through Apollo before anything runs (parse with the token limit,
 * validation with the limit rules, the guard above), for an operation the gateway answers without
 * executing it: the start of a live subscription whose access is known from the permissions cache.
 * Resolves to the refusals, none when the operation may run. Parsed and validated once per text.
 */
export function operationCheck(opts: GuardOptions & { validationRules: readonly ValidationRule[]; maxTokens: number }) {
  const documents = new WeakMap<GraphQLSchema, Map<string, { document: DocumentNode | null; errors: Refusal[] }>>();
  const prepare = (schema: GraphQLSchema, query: string) => {
    let bySchema = documents.get(schema);
    if (!bySchema) documents.set(schema, (bySchema = new Map()));
    let entry = bySchema.get(query);
    if (!entry) {
      try {
        const document = parse(query, { maxTokens: opts.maxTokens });
        const errors = validate(schema, document, [...specifiedRules, ...opts.validationRules]);
        entry = { document: errors.length ? null : document, errors: errors.map(refusalOf) };
      } catch (err) {
        entry = {
          document: null,
          errors: [refusalOf(err instanceof GraphQLError ? err : new GraphQLError('Invalid operation'))],
        };
      }
      if (bySchema.size >= 1000) bySchema.delete(bySchema.keys().next().value!);
      bySchema.set(query, entry);
    }
    return entry;
  };
  return async (
    schema: GraphQLSchema,
    query: string,
    variables: Record<string, unknown>,
    context: GatewayContext,
  ): Promise<Refusal[]> => {
    const { document, errors } = prepare(schema, query);
    if (!document) return errors;
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    if (!operation) return [refusalOf(new GraphQLError('No operation'))];
    try {
      await guardOperation(opts, { document, operation, schema, variables, context });
      return [];
    } catch (err) {
      if (err instanceof GraphQLError) return [refusalOf(err)];
      throw err;
    }
  };
}
