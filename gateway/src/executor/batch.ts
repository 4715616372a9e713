import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import {
  Kind,
  parse,
  print,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type VariableDefinitionNode,
} from 'graphql';

type Obj = Record<string, unknown>;
type Response = Awaited<ReturnType<GraphQLDataSource['process']>>;
type ProcessOptions = GraphQLDataSourceProcessOptions;

/**
 * One request's entity fetches to the same subgraph that are ready in the same turn of the event
 * loop go out as one subgraph request: each fetch's `_entities` field under its own alias
 * (`_b0`, `_b1`, …) with its own `$representations` (`$r0`, `$r1`, …) and its own fragments
 * (`<name>__b0`, …). The plan for the benchmark query has 16 fetches; about half of them run
 * beside another fetch to the same subgraph. Only fetches of one client request are merged (one
 * user, one signed context), and only `_entities` queries: a root fetch or a mutation goes alone.
 */
interface Member {
  operation: string;
  operationName: string | undefined;
  variables: Obj;
  options: Omit<ProcessOptions, 'request'>;
  resolve: (r: Response) => void;
  reject: (err: unknown) => void;
}

/** The merged operation text for these member operations, or null when one of them cannot be merged. */
const merged = new Map<string, string | null>();
const MAX_MERGED = 1000;

function entityOperation(doc: DocumentNode): OperationDefinitionNode | null {
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = ops[0];
  if (ops.length !== 1 || !op || op.operation !== 'query') return null;
  const [root, ...rest] = op.selectionSet.selections;
  if (rest.length || root?.kind !== Kind.FIELD || root.name.value !== '_entities' || root.alias) return null;
  const arg = root.arguments?.[0];
  if (root.arguments?.length !== 1 || arg?.name.value !== 'representations' || arg.value.kind !== Kind.VARIABLE) return null;
  return arg.value.name.value === 'representations' ? op : null;
}

/** Member `i`'s operation renamed for the batch: alias, representations variable and fragment names. */
function renamed(doc: DocumentNode, i: number): DocumentNode {
  const suffix = (name: string) => `${name}__b${i}`;
  return visit(doc, {
    Variable: (node) => (node.name.value === 'representations' ? { ...node, name: { ...node.name, value: `r${i}` } } : undefined),
    FragmentSpread: (node) => ({ ...node, name: { ...node.name, value: suffix(node.name.value) } }),
    FragmentDefinition: (node) => ({ ...node, name: { ...node.name, value: suffix(node.name.value) } }),
    OperationDefinition: (node) => {
      const root = node.selectionSet.selections[0] as FieldNode;
      return {
        ...node,
        selectionSet: {
          ...node.selectionSet,
          selections: [{ ...root, alias: { kind: Kind.NAME, value: `_b${i}` } }],
        },
      };
    },
  });
}

export function mergeOperations(operations: string[], name: string | undefined): string | null {
  const key = `${name ?? ''}\u0000${operations.join('\u0000')}`;
  const hit = merged.get(key);
  if (hit !== undefined) return hit;
  let out: string | null = null;
  try {
    const docs = operations.map((o) => parse(o, { noLocation: true }));
    if (docs.every((d) => entityOperation(d))) {
      const variables = new Map<string, VariableDefinitionNode>();
      const selections: FieldNode[] = [];
      const fragments: FragmentDefinitionNode[] = [];
      docs.forEach((doc, i) => {
        for (const def of renamed(doc, i).definitions) {
          if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.push(def);
          else if (def.kind === Kind.OPERATION_DEFINITION) {
            selections.push(def.selectionSet.selections[0] as FieldNode);
            // other variables are the client's: one name, one value in the whole request
            for (const v of def.variableDefinitions ?? [])
              if (!variables.has(v.variable.name.value)) variables.set(v.variable.name.value, v);
          }
        }
      });
      const operation: OperationDefinitionNode = {
        kind: Kind.OPERATION_DEFINITION,
        operation: 'query' as OperationDefinitionNode['operation'],
        ...(name ? { name: { kind: Kind.NAME, value: name } } : {}),
        variableDefinitions: [...variables.values()],
        selectionSet: { kind: Kind.SELECTION_SET, selections },
      };
      out = print({ kind: Kind.DOCUMENT, definitions: [operation, ...fragments] });
    }
  } catch {
    out = null;
  }
  if (merged.size >= MAX_MERGED) merged.delete(merged.keys().next().value!);
  merged.set(key, out);
  return out;
}

/** Member `i`'s share of the batch's answer: its alias's entities and the errors under it. */
export function splitResponse(response: Response, count: number): Response[] {
  const data = response.data as Obj | null | undefined;
  type FormattedError = NonNullable<Response['errors']>[number];
  const errors: FormattedError[][] = Array.from({ length: count }, () => []);
  for (const e of response.errors ?? []) {
    const head = e.path?.[0];
    const idx = typeof head === 'string' && /^_b\d+$/.test(head) ? Number(head.slice(2)) : -1;
    if (idx >= 0 && idx < count) errors[idx]!.push({ ...e, path: ['_entities', ...e.path!.slice(1)] });
    // not tied to one fetch (e.g. the whole request failed): every fetch reports it, as unbatched
    else for (const list of errors) list.push(e);
  }
  return errors.map((list, i) => ({
    data: data ? { _entities: data[`_b${i}`] ?? null } : (data ?? null),
    ...(list.length ? { errors: list } : {}),
  }));
}

/** Collects one request's entity fetches per subgraph and sends each group once the turn ends. */
export class FetchBatcher {
  private readonly pending = new Map<GraphQLDataSource, Member[]>();
  private scheduled = false;

  send(
    service: GraphQLDataSource,
    request: { query: string; variables: Obj; operationName?: string },
    options: Omit<ProcessOptions, 'request'>,
  ): Promise<Response> {
    return new Promise((resolve, reject) => {
      const list = this.pending.get(service) ?? [];
      list.push({
        operation: request.query,
        operationName: request.operationName,
        variables: request.variables,
        options,
        resolve,
        reject,
      });
      this.pending.set(service, list);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const groups = [...this.pending];
    this.pending.clear();
    for (const [service, members] of groups) {
      const query =
        members.length > 1
          ? mergeOperations(
              members.map((m) => m.operation),
              members[0]!.operationName,
            )
          : null;
      if (!query) {
        for (const m of members) this.alone(service, m);
        continue;
      }
      const variables: Obj = {};
      members.forEach((m, i) => {
        for (const [k, v] of Object.entries(m.variables)) if (k !== 'representations') variables[k] = v;
        variables[`r${i}`] = m.variables.representations;
      });
      const first = members[0]!;
      // the first fetch's document is not this request's: leave it out
      const { document: _document, ...options } = first.options as ProcessOptions & { document?: unknown };
      service.process({ ...options, request: { query, variables, operationName: first.operationName } } as ProcessOptions).then(
        (response) => splitResponse(response, members.length).forEach((share, i) => members[i]!.resolve(share)),
        (err: unknown) => {
          for (const m of members) m.reject(err);
        },
      );
    }
  }

  private alone(service: GraphQLDataSource, m: Member): void {
    service
      .process({
        ...(m.options as ProcessOptions),
        request: { query: m.operation, variables: m.variables, operationName: m.operationName },
      })
      .then(m.resolve, m.reject);
  }
}
