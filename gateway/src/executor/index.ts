import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import type { Logger } from '@tm/kit/infra';
import client from 'prom-client';
import {
  getVariableValues,
  GraphQLError,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { FetchBatcher } from './batch';
import { runNode, type PlanRun } from './run-plan';
import { hasConditions, Shaper } from './shape';
import { span } from './spans';

type ApolloExecutor = NonNullable<Awaited<ReturnType<ApolloGateway['load']>>['executor']>;
type RequestContext = Parameters<ApolloExecutor>[0];
type ExecutionResult = Awaited<ReturnType<ApolloExecutor>>;

/** One operation, planned and ready to run: its plan, shaper and root type. */
interface Prepared {
  plan: QueryPlan;
  operation: OperationDefinitionNode;
  shaper: Shaper;
  root: GraphQLObjectType;
}

interface SchemaState {
  planner: QueryPlanner;
  api: Schema;
  /** graphql-js forms: the supergraph (for type conditions in `requires`) and the API schema. */
  supergraph: GraphQLSchema;
  apiSchema: GraphQLSchema;
  prepared: Map<string, Prepared | 'apollo'>;
}

const SUPPORTED = new Set(['Sequence', 'Parallel', 'Flatten', 'Fetch', 'Condition']);

function supported(node: QueryPlan['node']): boolean {
  if (!node) return true;
  if (!SUPPORTED.has(node.kind)) return false;
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel':
      return node.nodes.every((n) => supported(n));
    case 'Flatten':
      return supported(node.node);
    case 'Condition':
      return supported(node.ifClause) && supported(node.elseClause);
    case 'Fetch':
      return !node.contextRewrites?.length;
    default:
      return false;
  }
}

function usesIntrospection(doc: DocumentNode): boolean {
  let found = false;
  const walk = (
    sels: readonly { kind: string; name?: { value: string }; selectionSet?: { selections: readonly unknown[] } }[],
  ) => {
    for (const s of sels) {
      if (s.kind === Kind.FIELD && (s.name?.value === '__schema' || s.name?.value === '__type')) found = true;
      if (s.selectionSet) walk(s.selectionSet.selections as never);
    }
  };
  for (const d of doc.definitions) if ('selectionSet' in d && d.selectionSet) walk(d.selectionSet.selections as never);
  return found;
}

/**
 * The gateway as Apollo Server sees it: @apollo/gateway loads and composes the supergraph and keeps
 * the API schema; its query planner plans each operation once; the plan is then run by our own
 * executor (./run-plan, ./shape), which is several times cheaper per request than @apollo/gateway's
 * (see README, Performance). Operations our executor does not cover (introspection, @defer,
 * subscriptions, @fromContext rewrites), requests whose federated traces Apollo usage reporting
 * captures, and `GATEWAY_EXECUTOR=apollo` go to @apollo/gateway's own.
 */
export class PlanExecutingGateway {
  private state?: SchemaState;
  private fallback?: ApolloExecutor;
  private readonly executed?: client.Counter<'executor'>;

  constructor(
    private readonly inner: ApolloGateway,
    private readonly services: (name: string) => GraphQLDataSource | undefined,
    log: Logger,
    private readonly options: {
      enabled: boolean;
      /** Entity fetches to one subgraph that are ready together go out as one request (SUBGRAPH_BATCHING). */
      batching?: boolean;
      maxPlans?: number;
      registry?: client.Registry;
      /** Counts prepared-plan lookups as `cache_requests_total{cache="query_plan"}`. */
      cacheRequests?: client.Counter<'cache' | 'result'>;
    } = { enabled: true },
  ) {
    if (options.registry) {
      this.executed = new client.Counter({
        name: 'gateway_operations_executed_total',
        help: 'Operations run by our plan executor (fast) or handed to @apollo/gateway (apollo: introspection, @defer, GATEWAY_EXECUTOR=apollo)',
        labelNames: ['executor'],
        registers: [options.registry],
      });
    }
    inner.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
      try {
        const supergraph = Supergraph.build(coreSupergraphSdl);
        this.state = {
          planner: new QueryPlanner(supergraph),
          api: supergraph.apiSchema(),
          supergraph: supergraph.schema.toGraphQLJSSchema(),
          apiSchema,
          prepared: new Map(),
        };
      } catch (err) {
        this.state = undefined;
        log.error({ err }, 'plan executor: supergraph not usable, using the @apollo/gateway executor');
      }
    });
  }

  onSchemaLoadOrUpdate(...args: Parameters<ApolloGateway['onSchemaLoadOrUpdate']>) {
    return this.inner.onSchemaLoadOrUpdate(...args);
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  async load(options: Parameters<ApolloGateway['load']>[0]) {
    const loaded = await this.inner.load(options);
    this.fallback = loaded.executor ?? undefined;
    return { ...loaded, executor: (rc: RequestContext) => this.execute(rc) };
  }

  private apollo(fallback: ApolloExecutor, rc: RequestContext): Promise<ExecutionResult> {
    this.executed?.inc({ executor: 'apollo' });
    return fallback(rc);
  }

  private prepare(state: SchemaState, rc: RequestContext): Prepared | 'apollo' {
    const key = `${rc.queryHash}\n${rc.request.operationName ?? ''}`;
    let p = state.prepared.get(key);
    this.options.cacheRequests?.inc({ cache: 'query_plan', result: p ? 'hit' : 'miss' });
    if (p) return p;
    const document = rc.document;
    const operation = rc.operation;
    if (
      !document ||
      !operation ||
      (operation.operation !== 'query' && operation.operation !== 'mutation') ||
      usesIntrospection(document)
    ) {
      p = 'apollo';
    } else {
      const plan = span('gateway.plan', {}, () =>
        state.planner.buildQueryPlan(
          operationFromDocument(state.api, document, { operationName: rc.request.operationName ?? undefined }),
        ),
      );
      const fragments: Record<string, FragmentDefinitionNode> = {};
      for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
      const root = operation.operation === 'query' ? state.apiSchema.getQueryType() : state.apiSchema.getMutationType();
      if (!root || !supported(plan.node)) p = 'apollo';
      else {
        const conditional = hasConditions([operation.selectionSet, ...Object.values(fragments).map((f) => f.selectionSet)]);
        p = { plan, operation, shaper: new Shaper(state.apiSchema, fragments, conditional), root };
      }
    }
    if (state.prepared.size >= (this.options.maxPlans ?? 2000)) state.prepared.delete(state.prepared.keys().next().value!);
    state.prepared.set(key, p);
    return p;
  }

  private execute(rc: RequestContext): Promise<ExecutionResult> {
    const attributes: Record<string, string> = {};
    if (rc.operationName) attributes['graphql.operation.name'] = rc.operationName;
    if (rc.operation) attributes['graphql.operation.type'] = rc.operation.operation;
    return span('gateway.request', attributes, () => this.executeInSpan(rc));
  }

  private async executeInSpan(rc: RequestContext): Promise<ExecutionResult> {
    const state = this.state;
    const fallback = this.fallback;
    if (!fallback) throw new Error('gateway not loaded');
    // Apollo usage reporting with federated traces (APOLLO_KEY) wants @apollo/gateway's trace tree
    const capturesTraces = Boolean((rc.metrics as { captureTraces?: boolean } | undefined)?.captureTraces);
    if (!this.options.enabled || !state || rc.schema !== state.apiSchema || capturesTraces) return this.apollo(fallback, rc);
    let prepared: Prepared | 'apollo';
    try {
      prepared = this.prepare(state, rc);
    } catch (err) {
      if (err instanceof GraphQLError) return { errors: [err] };
      throw err;
    }
    if (prepared === 'apollo') return this.apollo(fallback, rc);
    this.executed?.inc({ executor: 'fast' });
    const raw = (rc.request.variables ?? {}) as Record<string, unknown>;
    const coercion = prepared.operation.variableDefinitions?.length
      ? getVariableValues(state.apiSchema, prepared.operation.variableDefinitions, raw)
      : { coerced: {} as Record<string, unknown> };
    if (coercion.errors) return { errors: coercion.errors };
    const run: PlanRun = {
      supergraph: state.supergraph,
      services: this.services,
      variables: raw,
      coerced: coercion.coerced ?? {},
      errors: [],
      requestContext: rc,
      context: rc.context,
      ...(this.options.batching ? { batcher: new FetchBatcher() } : {}),
    };
    const data: Record<string, unknown> = {};
    if (prepared.plan.node) await runNode(run, prepared.plan.node as PlanNode, { path: [], data, root: data });
    const p = prepared;
    const shaped = span('gateway.postprocessing', {}, () => p.shaper.shape(p.root, p.operation.selectionSet, data, run.coerced));
    if (run.errors.length) return { errors: run.errors, data: shaped.data };
    // like @apollo/gateway: value-completion problems without a subgraph error are reported as an extension
    if (shaped.errors.length) return { data: shaped.data, extensions: { valueCompletion: shaped.errors } };
    return { data: shaped.data };
  }
}
