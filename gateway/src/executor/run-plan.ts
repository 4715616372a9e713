import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { FetchDataRewrite, FetchNode, PlanNode, QueryPlanSelectionNode } from '@apollo/query-planner';
import { GraphQLError, isAbstractType, isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import type { Path } from './shape';
import type { FetchBatcher } from './batch';
import { span } from './spans';

/**
 * Runs a query plan (Sequence, Parallel, Flatten, Fetch, Condition) against the subgraphs, merging
 * every fetch's data into one tree that the shaper then cuts to the client's selection.
 * Differences from @apollo/gateway's executor, all about cost: identical entity representations
 * within one fetch are sent once (the answer is merged into every entity that asked), no tracing
 * span or usage-reporting node per plan node, and paths are only materialized for errors.
 */
export interface PlanRun {
  supergraph: GraphQLSchema;
  services: (name: string) => GraphQLDataSource | undefined;
  variables: Record<string, unknown>;
  /** Values of the operation's @defer/@skip condition variables, coerced. */
  coerced: Record<string, unknown>;
  errors: GraphQLError[];
  /** Passed through to each data source (Apollo's incoming request context and the user context). */
  requestContext: unknown;
  context: unknown;
  /** When set, entity fetches to one subgraph that are ready together go out as one request (./batch). */
  batcher?: FetchBatcher;
}

type Obj = Record<string, unknown>;
/** GraphQLDataSourceRequestKind.INCOMING_OPERATION (the enum is not exported by @apollo/gateway). */
const INCOMING_OPERATION = 'incoming operation' as GraphQLDataSourceProcessOptions['kind'] & 'incoming operation';

export interface Cursor {
  path: Path;
  data: unknown;
  root: Obj;
}

export async function runNode(run: PlanRun, node: PlanNode, cursor: Cursor): Promise<void> {
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await runNode(run, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => runNode(run, child, cursor)));
      return;
    case 'Flatten': {
      const data = flatten(cursor.data, node.path, 0);
      if (data === undefined || data === null) return;
      await runNode(run, node.node, { path: cursor.path.concat(node.path), data, root: cursor.root });
      return;
    }
    case 'Fetch':
      try {
        await span('gateway.fetch', { service: node.serviceName }, () => runFetch(run, node, cursor));
      } catch (err) {
        run.errors.push(
          err instanceof GraphQLError ? err : new GraphQLError((err as Error).message, { originalError: err as Error }),
        );
      }
      return;
    case 'Condition': {
      const branch = run.coerced[node.condition] === true ? node.ifClause : node.elseClause;
      if (branch) await runNode(run, branch, cursor);
      return;
    }
    default:
      throw new Error(`plan node ${node.kind} is not supported by this executor`);
  }
}

/** The values at `path` ('@' = every element of a list), flattened into one list when it crosses lists. */
export function flatten(value: unknown, path: Path, i: number): unknown {
  if (i === path.length || value === undefined || value === null) return value;
  const step = path[i]!;
  if (step === '@') {
    if (!Array.isArray(value)) return undefined;
    const out: unknown[] = [];
    for (const el of value) {
      const v = flatten(el, path, i + 1);
      if (Array.isArray(v)) for (const x of v) out.push(x);
      else out.push(v);
    }
    return out;
  }
  if (Array.isArray(value)) return undefined;
  return flatten(Object.hasOwn(value as Obj, step as string) ? (value as Obj)[step as string] : undefined, path, i + 1);
}

async function runFetch(run: PlanRun, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const service = run.services(fetch.serviceName);
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
  const entities: Obj[] = [];
  if (Array.isArray(cursor.data)) {
    for (const e of cursor.data) if (e !== null && e !== undefined) entities.push(e as Obj);
  } else entities.push(cursor.data as Obj);
  if (entities.length === 0) return;
  const variables: Obj = {};
  for (const name of fetch.variableUsages ?? []) if (run.variables[name] !== undefined) variables[name] = run.variables[name];

  if (!fetch.requires) {
    const data = await send(run, service, fetch, variables, cursor);
    if (data) {
      applyRewrites(run.supergraph, fetch.outputRewrites, data);
      for (const e of entities) deepMerge(e, data);
    }
    return;
  }
  const { representations, repOf } = representationsOf(run.supergraph, entities, fetch.requires, fetch.inputRewrites);
  if (representations.length === 0) return;
  if ('representations' in variables) throw new Error('Variables cannot contain key "representations"');
  const data = await send(run, service, fetch, { ...variables, representations }, cursor, { entities, repOf });
  if (!data) return;
  const received = data._entities;
  if (!Array.isArray(received)) throw new Error('Expected "data._entities" in response to be an array');
  if (received.length !== representations.length)
    throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  mergeEntities(run.supergraph, entities, repOf, received as Array<Obj | null>, fetch.outputRewrites);
}

/**
 * The representations an entity fetch sends: one per distinct entity (the same product under ten
 * reviews is asked for once), and for each entity the index of its representation (-1: the entity
 * lacks its key or required fields, and is not asked for).
 */
export function representationsOf(
  schema: GraphQLSchema,
  entities: Obj[],
  requires: readonly QueryPlanSelectionNode[],
  inputRewrites?: readonly FetchDataRewrite[],
): { representations: Obj[]; repOf: number[] } {
  const representations: Obj[] = [];
  const repOf = new Array<number>(entities.length).fill(-1);
  const flat = inputRewrites?.length ? null : flatRequires(schema, requires);
  /** Per concrete type: its representations by key value, one Map level per key field. */
  const trees = flat ? new Map<string, Map<unknown, unknown>>() : undefined;
  let seen: Map<string, number> | undefined;
  for (let i = 0; i < entities.length; i++) {
    const entity = entities[i]!;
    const typename = entity.__typename;
    const fields = flat && typeof typename === 'string' ? flat.get(typename) : undefined;
    if (fields) {
      const idx = flatRepresentation(entity, typename as string, fields, trees!, representations);
      if (idx !== undefined) {
        repOf[i] = idx;
        continue;
      }
    }
    // the general case: nested or abstract requirements, input rewrites, a field holding an object
    const rep = select(schema, entity, requires);
    if (!rep || !rep.__typename) continue;
    applyRewrites(schema, inputRewrites, rep);
    const key = representationKey(rep);
    seen ??= new Map();
    let idx = seen.get(key);
    if (idx === undefined) {
      idx = representations.push(rep) - 1;
      seen.set(key, idx);
    }
    repOf[i] = idx;
  }
  return { representations, repOf };
}

/**
 * The common `requires` (what the query planner writes for an entity fetch): per object type one
 * inline fragment of leaf fields with `__typename`, e.g. `... on Product { __typename upc }`.
 * Compiled once per plan node to its field keys per type; null when the selection is anything else.
 */
const compiledRequires = new WeakMap<readonly QueryPlanSelectionNode[], Map<string, string[]> | null>();

function flatRequires(schema: GraphQLSchema, requires: readonly QueryPlanSelectionNode[]): Map<string, string[]> | null {
  let compiled = compiledRequires.get(requires);
  if (compiled !== undefined) return compiled;
  compiled = new Map<string, string[]>();
  for (const sel of requires) {
    if (sel.kind !== 'InlineFragment' || !sel.typeCondition || !isObjectType(schema.getType(sel.typeCondition))) {
      compiled = null;
      break;
    }
    const keys: string[] = [];
    for (const f of sel.selections) {
      const key = f.kind === 'Field' && !f.selections ? (f.alias ?? f.name) : undefined;
      // a key every object inherits (an alias such as `constructor`) takes the general path
      if (key === undefined || key in Object.prototype || keys.includes(key)) {
        keys.length = 0;
        break;
      }
      keys.push(key);
    }
    if (!keys.includes('__typename') || compiled.has(sel.typeCondition)) {
      compiled = null;
      break;
    }
    compiled.set(sel.typeCondition, keys);
  }
  compiledRequires.set(requires, compiled);
  return compiled;
}

/**
 * The index of this entity's representation under a flat `requires` (made and appended when it is
 * the first with its key values), -1 when a field is missing, undefined when a value is an object
 * (the general path decides). Values are told apart as Map keys do: `1` and `'1'` are two entities.
 */
function flatRepresentation(
  entity: Obj,
  typename: string,
  fields: string[],
  trees: Map<string, Map<unknown, unknown>>,
  representations: Obj[],
): number | undefined {
  for (const key of fields) {
    const v = entity[key];
    if (v === undefined) return -1;
    if (typeof v === 'object' && v !== null) return undefined;
  }
  let node = trees.get(typename);
  if (!node) {
    node = new Map();
    trees.set(typename, node);
  }
  const last = fields.length - 1;
  for (let j = 0; j < last; j++) {
    const v = entity[fields[j]!];
    let next = node.get(v) as Map<unknown, unknown> | undefined;
    if (!next) {
      next = new Map();
      node.set(v, next);
    }
    node = next;
  }
  const lastValue = entity[fields[last]!];
  const found = node.get(lastValue) as number | undefined;
  if (found !== undefined) return found;
  const rep: Obj = {};
  for (const key of fields) rep[key] = entity[key];
  const idx = representations.push(rep) - 1;
  node.set(lastValue, idx);
  return idx;
}

/** Merges the `_entities` answer into every entity that asked for it (`repOf` from `representationsOf`). */
export function mergeEntities(
  schema: GraphQLSchema,
  entities: Obj[],
  repOf: number[],
  received: Array<Obj | null>,
  outputRewrites?: readonly FetchDataRewrite[],
): void {
  for (const r of received) if (r) applyRewrites(schema, outputRewrites, r);
  for (let i = 0; i < entities.length; i++) {
    const idx = repOf[i]!;
    if (idx < 0) continue;
    const r = received[idx];
    if (!r) continue;
    const entity = entities[i]!;
    if (!r.__typename && entity.__typename) r.__typename = entity.__typename;
    deepMerge(entity, r);
  }
}

async function send(
  run: PlanRun,
  service: GraphQLDataSource,
  fetch: FetchNode,
  variables: Obj,
  cursor: Cursor,
  entityFetch?: { entities: Obj[]; repOf: number[] },
): Promise<Obj | null | undefined> {
  const request = { query: fetch.operation, variables, operationName: fetch.operationName };
  const options = {
    kind: INCOMING_OPERATION,
    incomingRequestContext: run.requestContext as never,
    context: run.context as never,
    ...(fetch.operationDocumentNode ? { document: fetch.operationDocumentNode } : {}),
    pathInIncomingRequest: cursor.path as never,
  };
  const response =
    entityFetch && run.batcher
      ? await run.batcher.send(service, request, options)
      : await service.process({ ...options, request });
  if (response.errors?.length) {
    const pathOf = errorPaths(cursor, fetch, entityFetch);
    for (const e of response.errors) {
      const message = e.message || `Error while fetching subquery from service "${fetch.serviceName}"`;
      const extensions: Record<string, unknown> = { ...(e.extensions ?? {}), serviceName: fetch.serviceName };
      if (!extensions.code) extensions.code = 'DOWNSTREAM_SERVICE_ERROR';
      run.errors.push(new GraphQLError(message, { path: pathOf(e.path as Path | undefined), extensions }));
    }
  }
  return response.data as Obj | null | undefined;
}

/** Maps a subgraph error path to the client's response path (only computed when there are errors). */
export function errorPaths(cursor: Cursor, fetch: FetchNode, entityFetch?: { entities: Obj[]; repOf: number[] }) {
  let hydrated: Path[] | undefined;
  return (errorPath: Path | undefined): Path | undefined => {
    if (!errorPath) return undefined;
    if (fetch.requires && entityFetch && typeof errorPath[1] === 'number') {
      if (!hydrated) {
        hydrated = [];
        hydrate([], cursor.path, cursor.root, hydrated);
      }
      // representation index → the first entity that used it
      const entityIndex = entityFetch.repOf.indexOf(errorPath[1]);
      return [...(hydrated[entityIndex] ?? []), ...errorPath.slice(2)];
    }
    return [...cursor.path.filter((p) => p !== '@'), ...errorPath];
  };
}

/** Every concrete path (list indexes filled in) that `path` reaches in `data`, in order. */
function hydrate(prefix: Path, path: Path, data: unknown, out: Path[]): void {
  if (data === null || data === undefined) return;
  const [head, ...rest] = path;
  if (head === undefined) {
    out.push(prefix.slice());
  } else if (head === '@') {
    if (!Array.isArray(data)) return;
    data.forEach((v, i) => hydrate([...prefix, i], rest, v, out));
  } else if (Array.isArray(data)) {
    data.forEach((v, i) => hydrate([...prefix, i], path, v, out));
  } else if (Object.hasOwn(data as Obj, head as string)) {
    hydrate([...prefix, head], rest, (data as Obj)[head as string], out);
  }
}

/** Identity of a representation: cheap for flat ones (typename + key scalars), JSON otherwise. */
function representationKey(rep: Obj): string {
  let key = '';
  for (const k in rep) {
    const v = rep[k];
    if (typeof v === 'object' && v !== null) return JSON.stringify(rep);
    key += `${k}\u0001${typeof v}\u0001${String(v)}\u0002`;
  }
  return key;
}

/** The `requires` selection of an entity (its key and required fields), or null when incomplete. */
function select(schema: GraphQLSchema, source: Obj | null, selections: readonly QueryPlanSelectionNode[]): Obj | null {
  if (source === null) return null;
  const out: Obj = {};
  for (const sel of selections) {
    if (sel.kind === 'Field') {
      const key = sel.alias ?? sel.name;
      const v = source[key];
      if (v === undefined || !Object.hasOwn(source, key)) return null;
      if (Array.isArray(v)) out[key] = v.map((x: unknown) => (sel.selections ? select(schema, x as Obj, sel.selections) : x));
      else if (sel.selections) out[key] = select(schema, v as Obj, sel.selections);
      else out[key] = v;
    } else if (sel.typeCondition && isObjectOfType(schema, source, sel.typeCondition)) {
      deepMerge(out, select(schema, source, sel.selections));
    }
  }
  return out;
}

function isObjectOfType(schema: GraphQLSchema, obj: Obj, condition: string, unknownMatches = false): boolean {
  const typename = obj.__typename;
  if (typeof typename !== 'string' || !typename) return unknownMatches;
  if (typename === condition) return true;
  const type = schema.getType(typename);
  const cond = schema.getType(condition);
  if (!type || !cond || !isAbstractType(cond)) return false;
  return (isObjectType(type) || isInterfaceType(type)) && schema.isSubType(cond, type);
}

function applyRewrites(schema: GraphQLSchema, rewrites: readonly FetchDataRewrite[] | undefined, value: unknown): void {
  if (!rewrites) return;
  for (const rw of rewrites) {
    if (rw.path.length === 0) continue;
    const last = rw.path[rw.path.length - 1]!;
    at(schema, rw.path.slice(0, -1), value, (obj) => {
      if (rw.kind === 'ValueSetter') obj[last] = rw.setValueTo;
      else if (obj[last]) {
        obj[rw.renameKeyTo] = obj[last];
        obj[last] = undefined;
      }
    });
  }
}

function at(schema: GraphQLSchema, path: string[], value: unknown, fn: (obj: Obj) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) at(schema, path, v, fn);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (path.length === 0) return fn(value as Obj);
  const [first, ...rest] = path as [string, ...string[]];
  if (first.startsWith('... on ')) {
    if (isObjectOfType(schema, value as Obj, first.slice(7), true)) at(schema, rest, value, fn);
  } else at(schema, rest, Object.hasOwn(value, first) ? (value as Obj)[first] : undefined, fn);
}

function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The names an object can inherit: the merged tree holds plain objects (JSON's and ours). */
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * Makes `key` an own property of `obj` when `obj` would otherwise read it from its prototype
 * (`__proto__`, `constructor`, …), as @apollo/gateway's `defineOwn` does: a response key chosen by
 * the client (an alias) or sent by a subgraph can then never reach `Object.prototype`.
 */
export function defineOwn(obj: Obj, key: string): void {
  if (INHERITED.has(key) && !Object.hasOwn(obj, key) && key in obj) {
    Object.defineProperty(obj, key, { configurable: true, enumerable: true, writable: true, value: undefined });
  }
}

/** Merges `source` into `target` in place (objects by key, same-length lists element by element). */
export function deepMerge(target: Obj, source: Obj | null | undefined): Obj {
  if (!source) return target;
  for (const key of Object.keys(source)) {
    const s = source[key];
    if (s === undefined) continue;
    defineOwn(target, key);
    const t = target[key];
    if (t && isPlainObject(s) && isPlainObject(t)) deepMerge(t, s);
    else if (Array.isArray(s) && Array.isArray(t) && s.length === t.length) {
      for (let i = 0; i < s.length; i++) {
        if (isPlainObject(t[i]) && isPlainObject(s[i])) deepMerge(t[i] as Obj, s[i] as Obj);
        else t[i] = s[i];
      }
    } else target[key] = s;
  }
  return target;
}
