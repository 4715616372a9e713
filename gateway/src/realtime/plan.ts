import {
  getArgumentValues,
  getNamedType,
  Kind,
  print,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type VariableDefinitionNode,
} from 'graphql';
import { AppError, ErrorCode } from '@tm/kit/contracts';
import { PROBE_FIELD, SUBSCRIPTIONS, type SubscriptionSpec } from './specs';

/** What one subscription needs per event: computed once, when it starts. */
export interface LivePlan {
  fieldName: string;
  /** Response key of the root field (its alias, if any). */
  rootKey: string;
  spec: SubscriptionSpec;
  projectId: string;
  /** Event-level fields by response key → field name. */
  eventFields: Array<{ key: string; name: string }>;
  /** The query fetching the entity fields and the access probe, as the subscriber. */
  query: string;
  /** Message key per entity id variable. */
  idVariables: Record<string, string>;
  /** The subscriber's variables the query uses. */
  variables: Record<string, unknown>;
  /**
   * The entity query without the access probe, for results shared by every member of the project
   * with the same platform roles: null when the selection has a field whose value depends on who
   * asks (then each subscriber's query runs as that subscriber); '' when nothing is fetched.
   */
  sharedQuery: string | null;
  /** The selection has a field whose value depends on the project role: shared only within a role. */
  roleDependent: boolean;
}

/**
 * Fields whose value depends on the viewer's identity, not only on their roles: a selection with
 * one of them is never shared between users.
 */
export const VIEWER_DEPENDENT_FIELDS = new Set([
  'User.email',
  'User.projects',
  'User.assignedTasks',
  'User.notifications',
  'User.unreadNotificationCount',
  'User.workload',
  'Project.myRole',
  'Project.onlineUsers',
]);

/**
 * Fields whose value depends on the viewer's role in the project. Reads are the same for every
 * member whatever their role (every subgraph's read needs VIEWER, the lowest role; roles gate
 * writes), so a shared selection is resolved once for all of a board's members, not once per role.
 * A field that shows one role more than another must be listed here: a selection with it is then
 * shared only between subscribers of the same role.
 */
export const ROLE_DEPENDENT_FIELDS = new Set<string>();

/** Whether the document selects one of `fields` (`Type.field`). */
function selectsAny(schema: GraphQLSchema, document: DocumentNode, fields: ReadonlySet<string>): boolean {
  if (!fields.size) return false;
  const info = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(info, {
      Field(node) {
        const parent = info.getParentType();
        if (parent && fields.has(`${getNamedType(parent).name}.${node.name.value}`)) found = true;
      },
    }),
  );
  return found;
}

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
const responseKey = (f: FieldNode) => f.alias?.value ?? f.name.value;

/** Adds `__typename` to every selection set (abstract types need it to be resolved again). */
function withTypename(set: SelectionSetNode): SelectionSetNode {
  return visit(set, {
    SelectionSet(node) {
      if (node.selections.some((s) => s.kind === Kind.FIELD && s.name.value === '__typename' && !s.alias)) return undefined;
      return { ...node, selections: [...node.selections, { kind: Kind.FIELD, name: name('__typename') }] };
    },
  });
}

function collectFields(
  set: SelectionSetNode | undefined,
  fragments: Record<string, FragmentDefinitionNode>,
  out: FieldNode[] = [],
): FieldNode[] {
  for (const sel of set?.selections ?? []) {
    if (sel.kind === Kind.FIELD) out.push(sel);
    else if (sel.kind === Kind.INLINE_FRAGMENT) collectFields(sel.selectionSet, fragments, out);
    else collectFields(fragments[sel.name.value]?.selectionSet, fragments, out);
  }
  return out;
}

function spreadNames(node: unknown, fragments: Record<string, FragmentDefinitionNode>, seen = new Set<string>()): Set<string> {
  visit(node as SelectionSetNode, {
    FragmentSpread(s) {
      if (seen.has(s.name.value)) return;
      seen.add(s.name.value);
      const def = fragments[s.name.value];
      if (def) spreadNames(def, fragments, seen);
    },
  });
  return seen;
}

function variableNames(nodes: unknown[]): Set<string> {
  const names = new Set<string>();
  for (const n of nodes) visit(n as SelectionSetNode, { Variable: (v) => void names.add(v.name.value) });
  return names;
}

/**
 * Turns a subscriber's subscription into its live plan: which channel, which event fields come
 * from the message, and one query (entity fields with the subscriber's own selections, plus the
 * access probe) to run per event through the supergraph as the subscriber.
 */
export function planSubscription(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown>,
): LivePlan {
  const op = subscriptionOperation(document, operationName);
  const fragments = fragmentsByName(document);
  const { root, spec, fieldDef } = rootField(schema, op, fragments);
  if (spec.root) return planRootEntity(op, root, fragments, spec, variables);
  const args = getArgumentValues(fieldDef, root, variables);
  const projectId = String(args[spec.projectArg] ?? '');

  const eventNodes = collectFields(root.selectionSet, fragments);
  const { selections: entitySelections, idVariables } = entitySelectionsOf(eventNodes, spec);
  const usedFragments = fragmentsUsedBy(entitySelections, fragments);
  const ownDefinitions = ownVariableDefinitions(op, [...entitySelections, ...usedFragments]);
  const idDefinitions = Object.keys(idVariables).map(idVariableDefinition);
  const queryName = `Live_${root.name.value}`;
  const query = liveQuery(queryName, [...idDefinitions, ...ownDefinitions], [probeField(), ...entitySelections], usedFragments);
  const entityOnly = liveQuery(
    queryName,
    [...idDefinitions.filter((d) => d.variable.name.value !== PROBE_FIELD), ...ownDefinitions],
    entitySelections,
    usedFragments,
  );
  const sharedQuery = !entitySelections.length
    ? ''
    : selectsAny(schema, entityOnly, VIEWER_DEPENDENT_FIELDS)
      ? null
      : print(entityOnly);
  return {
    fieldName: root.name.value,
    sharedQuery,
    roleDependent: selectsAny(schema, entityOnly, ROLE_DEPENDENT_FIELDS),
    rootKey: responseKey(root),
    spec,
    projectId,
    eventFields: eventNodes.map((f) => ({ key: responseKey(f), name: f.name.value })),
    query: print(query),
    idVariables,
    variables: ownVariables(ownDefinitions, variables),
  };
}

/** The operation to run: the named one, or the document's first; it must be a subscription. */
function subscriptionOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!op || op.operation !== 'subscription') throw new AppError(ErrorCode.InvalidRequest, 'Not a subscription operation');
  return op;
}

function fragmentsByName(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  return fragments;
}

/** The subscription's root field with its spec and schema definition; unknown fields are refused. */
function rootField(schema: GraphQLSchema, op: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>) {
  const [root] = collectFields(op.selectionSet, fragments);
  if (!root) throw new AppError(ErrorCode.InvalidRequest, 'A subscription selects one field');
  const fieldName = root.name.value;
  const spec = SUBSCRIPTIONS[fieldName];
  const fieldDef = schema.getSubscriptionType()?.getFields()[fieldName];
  if (!spec || !fieldDef) throw new AppError(ErrorCode.InvalidRequest, `Unknown subscription ${fieldName}`);
  return { root, spec, fieldDef };
}

/**
 * The event's entity fields rewritten as root queries by id (`task(id: $__id_task)`), keeping the
 * subscriber's alias and selection, with the message key each id variable is read from.
 */
function entitySelectionsOf(eventNodes: FieldNode[], spec: SubscriptionSpec) {
  const idVariables: Record<string, string> = { [PROBE_FIELD]: spec.projectArg };
  const selections = eventNodes
    .filter((f) => spec.entities[f.name.value])
    .map((f): FieldNode => {
      const entity = spec.entities[f.name.value]!;
      const variable = `__id_${f.name.value}`;
      idVariables[variable] = entity.idKey;
      return byIdField(f, entity.query, variable);
    });
  return { selections, idVariables };
}

/** `field` fetched as the root query `query(id: $variable)` under its response key. */
function byIdField(field: FieldNode, query: string, variable: string): FieldNode {
  return {
    ...field,
    alias: name(responseKey(field)),
    name: name(query),
    arguments: [{ kind: Kind.ARGUMENT, name: name('id'), value: { kind: Kind.VARIABLE, name: name(variable) } }],
    selectionSet: field.selectionSet ? withTypename(field.selectionSet) : undefined,
  };
}

/** The access probe `__probe: project(id: $__probe) { id }`: null when the subscriber lost access. */
function probeField(): FieldNode {
  return {
    kind: Kind.FIELD,
    alias: name(PROBE_FIELD),
    name: name('project'),
    arguments: [{ kind: Kind.ARGUMENT, name: name('id'), value: { kind: Kind.VARIABLE, name: name(PROBE_FIELD) } }],
    selectionSet: { kind: Kind.SELECTION_SET, selections: [{ kind: Kind.FIELD, name: name('id') }] },
  };
}

/** The fragments the selections spread (transitively), each with `__typename` added. */
function fragmentsUsedBy(selections: FieldNode[], fragments: Record<string, FragmentDefinitionNode>): FragmentDefinitionNode[] {
  return [...spreadNames({ kind: Kind.SELECTION_SET, selections }, fragments)]
    .map((n) => fragments[n]!)
    .map((d) => ({ ...d, selectionSet: withTypename(d.selectionSet) }));
}

/** The subscriber's variable definitions that the given nodes use. */
function ownVariableDefinitions(op: OperationDefinitionNode, nodes: unknown[]): readonly VariableDefinitionNode[] {
  const used = variableNames(nodes);
  return (op.variableDefinitions ?? []).filter((v) => used.has(v.variable.name.value));
}

function ownVariables(
  definitions: readonly VariableDefinitionNode[],
  variables: Record<string, unknown>,
): Record<string, unknown> {
  return Object.fromEntries(definitions.map((d) => [d.variable.name.value, variables[d.variable.name.value]]));
}

function idVariableDefinition(variable: string): VariableDefinitionNode {
  return {
    kind: Kind.VARIABLE_DEFINITION,
    variable: { kind: Kind.VARIABLE, name: name(variable) },
    type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: name('ID') } },
  };
}

/** A query document: one operation with these variables and selections, then the fragments. */
function liveQuery(
  queryName: string,
  variableDefinitions: VariableDefinitionNode[],
  selections: FieldNode[],
  fragments: FragmentDefinitionNode[],
): DocumentNode {
  return {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: 'query' as OperationDefinitionNode['operation'],
        name: name(queryName),
        variableDefinitions,
        selectionSet: { kind: Kind.SELECTION_SET, selections },
      } as OperationDefinitionNode,
      ...fragments,
    ],
  };
}

/**
 * The plan of a subscription whose root field is itself an entity (`notificationReceived`): one
 * query per event fetching it by id with the subscriber's whole selection, as the subscriber. The
 * owning subgraph answers only its owner (anyone else gets null), and the channel is the
 * subscriber's own; never shared between users.
 */
function planRootEntity(
  op: OperationDefinitionNode,
  root: FieldNode,
  fragments: Record<string, FragmentDefinitionNode>,
  spec: SubscriptionSpec,
  variables: Record<string, unknown>,
): LivePlan {
  const entity = spec.root!;
  const variable = '__id_root';
  const selection = byIdField(root, entity.query, variable);
  const usedFragments = fragmentsUsedBy([selection], fragments);
  const ownDefinitions = ownVariableDefinitions(op, [selection, ...usedFragments]);
  const query = liveQuery(
    `Live_${root.name.value}`,
    [idVariableDefinition(variable), ...ownDefinitions],
    [selection],
    usedFragments,
  );
  return {
    fieldName: root.name.value,
    sharedQuery: null,
    roleDependent: true,
    rootKey: responseKey(root),
    spec,
    projectId: '',
    eventFields: [],
    query: print(query),
    idVariables: { [variable]: entity.idKey },
    variables: ownVariables(ownDefinitions, variables),
  };
}
