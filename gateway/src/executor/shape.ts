import {
  GraphQLError,
  isAbstractType,
  isEnumType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

/**
 * Shapes the merged subgraph data into the client's response: only the fields the operation asked
 * for, under their aliases, in order; `__typename` filled in; fragments applied by runtime type;
 * `@skip`/`@include` honoured; a null in a non-null position nulls its parent (with an error
 * unless one is already there). Same rules as @apollo/gateway's `computeResponse`, over graphql-js
 * types and with the field collection of each (selection sets, runtime type) computed once per
 * operation.
 */
export type Path = Array<string | number>;

interface CollectedField {
  key: string;
  name: string;
  def: GraphQLField<unknown, unknown> | null;
  /** Sub-selections of every node that asks for this response key. */
  sets: SelectionSetNode[];
  /**
   * The response key is also a property every object inherits (`__proto__`, `constructor`, …: an
   * alias the client chose): read only the own property, and define it rather than assign it.
   */
  inherited: boolean;
}

const BUBBLE = Symbol('null bubbles up');

export class Shaper {
  /** Field collection per selection sets (a CollectedField's `sets`, or the root's) and runtime type. */
  private readonly collected = new WeakMap<SelectionSetNode[], Map<GraphQLCompositeType, CollectedField[]>>();
  private readonly roots = new WeakMap<SelectionSetNode, SelectionSetNode[]>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Record<string, FragmentDefinitionNode>,
    /** True when the operation has @skip/@include: field collection then depends on variables. */
    private readonly conditional: boolean,
  ) {}

  shape(
    root: GraphQLObjectType,
    rootSet: SelectionSetNode,
    input: Record<string, unknown> | null,
    variables: Record<string, unknown>,
  ): { data: Record<string, unknown> | null; errors: GraphQLError[] } {
    if (!input) return { data: null, errors: [] };
    let sets = this.roots.get(rootSet);
    if (!sets) {
      sets = [rootSet];
      this.roots.set(rootSet, sets);
    }
    const run = { variables, errors: [] as GraphQLError[] };
    const data = this.object(input, sets, root, [], run);
    return { data: data === BUBBLE ? null : data, errors: run.errors };
  }

  private fieldsOf(type: GraphQLCompositeType, sets: SelectionSetNode[], variables: Record<string, unknown>): CollectedField[] {
    if (this.conditional) return this.collect(type, sets, variables);
    let byType = this.collected.get(sets);
    if (!byType) {
      byType = new Map();
      this.collected.set(sets, byType);
    }
    let fields = byType.get(type);
    if (!fields) {
      fields = this.collect(type, sets, variables);
      byType.set(type, fields);
    }
    return fields;
  }

  private collect(type: GraphQLCompositeType, sets: SelectionSetNode[], variables: Record<string, unknown>): CollectedField[] {
    const byKey = new Map<string, CollectedField>();
    const visited = new Set<string>();
    const defs = isObjectType(type) || isInterfaceType(type) ? type.getFields() : {};
    const visit = (set: SelectionSetNode) => {
      for (const sel of set.selections) {
        if (!included(sel, variables)) continue;
        if (sel.kind === Kind.FIELD) {
          const key = sel.alias?.value ?? sel.name.value;
          let f = byKey.get(key);
          if (!f) {
            f = { key, name: sel.name.value, def: defs[sel.name.value] ?? null, sets: [], inherited: key in Object.prototype };
            byKey.set(key, f);
          }
          if (sel.selectionSet) f.sets.push(sel.selectionSet);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          if (!sel.typeCondition || this.applies(sel.typeCondition.name.value, type)) visit(sel.selectionSet);
        } else {
          const name = sel.name.value;
          const frag = this.fragments[name];
          if (!frag || visited.has(name)) continue;
          visited.add(name);
          if (this.applies(frag.typeCondition.name.value, type)) visit(frag.selectionSet);
        }
      }
    };
    for (const s of sets) visit(s);
    return [...byKey.values()];
  }

  /** Does a fragment on `condition` apply to an object of `type`? */
  private applies(condition: string, type: GraphQLCompositeType): boolean {
    if (condition === type.name) return true;
    const cond = this.schema.getType(condition);
    if (!cond || !isAbstractType(cond)) return false;
    return (isObjectType(type) || isInterfaceType(type)) && this.schema.isSubType(cond, type);
  }

  private object(
    input: Record<string, unknown>,
    sets: SelectionSetNode[],
    parentType: GraphQLCompositeType,
    path: Path,
    run: Run,
  ): Record<string, unknown> | typeof BUBBLE {
    const out: Record<string, unknown> = {};
    for (const f of this.fieldsOf(parentType, sets, run.variables)) {
      const own = f.inherited && !Object.hasOwn(input, f.key) ? undefined : input[f.key];
      if (f.name === '__typename') {
        let t = own;
        if (t == null && f.key !== '__typename') t = input.__typename;
        const type = typeof t === 'string' ? (this.schema.getType(t) ?? parentType) : parentType;
        if (!isObjectType(type)) return BUBBLE;
        if (f.inherited) defineOwnValue(out, f.key, type.name);
        else out[f.key] = type.name;
        continue;
      }
      if (!f.def) continue; // only introspection meta fields get here; plans with those are not ours
      path.push(f.key);
      const v = this.value(own ?? null, f.def.type, f.sets, path, parentType, run);
      path.pop();
      if (v === BUBBLE) return BUBBLE;
      if (f.inherited) defineOwnValue(out, f.key, v);
      else out[f.key] = v;
    }
    return out;
  }

  /** A value, or BUBBLE when a non-null position got null (the caller nulls itself). */
  private value(
    input: unknown,
    type: GraphQLOutputType,
    sets: SelectionSetNode[],
    path: Path,
    parentType: GraphQLNamedType,
    run: Run,
  ): unknown {
    if (isNonNullType(type)) {
      const errorsBefore = run.errors.length;
      const v = this.value(input, type.ofType, sets, path, parentType, run);
      if (v === null || v === BUBBLE) {
        if (v === null && run.errors.length === errorsBefore) {
          run.errors.push(
            new GraphQLError(`Cannot return null for non-nullable ${describe(path, type.ofType, parentType)}.`, {
              path: [...path],
              extensions: { code: 'INVALID_GRAPHQL' },
            }),
          );
        }
        return BUBBLE;
      }
      return v;
    }
    if (input === null || input === undefined) return null;
    if (isListType(type)) {
      if (!Array.isArray(input)) return this.invalid(path, type, parentType, run);
      const out = new Array<unknown>(input.length);
      for (let i = 0; i < input.length; i++) {
        path.push(i);
        const v = this.value(input[i], type.ofType, sets, path, parentType, run);
        path.pop();
        if (v === BUBBLE) return null;
        out[i] = v;
      }
      return out;
    }
    if (isLeafType(type)) {
      if (!validLeaf(type, input)) return this.invalid(path, type, parentType, run);
      return input;
    }
    if (typeof input !== 'object' || Array.isArray(input)) return this.invalid(path, type, parentType, run);
    const obj = input as Record<string, unknown>;
    let runtime: GraphQLCompositeType = type;
    const typename = obj.__typename;
    if (typeof typename === 'string') {
      const t = this.schema.getType(typename);
      if (!t || !(isObjectType(t) || isInterfaceType(t) || isAbstractType(t))) {
        run.errors.push(
          new GraphQLError(`Invalid __typename found for object at ${describe(path, type, parentType)}.`, {
            path: [...path],
            extensions: { code: 'INVALID_GRAPHQL' },
          }),
        );
        return null;
      }
      runtime = t as GraphQLCompositeType;
    }
    const v = this.object(obj, sets, runtime, path, run);
    return v === BUBBLE ? null : v;
  }

  private invalid(path: Path, type: GraphQLOutputType, parentType: GraphQLNamedType, run: Run): null {
    run.errors.push(
      new GraphQLError(`Invalid value found for ${describe(path, type, parentType)}.`, {
        path: [...path],
        extensions: { code: 'INVALID_GRAPHQL' },
      }),
    );
    return null;
  }
}

/** `obj[key] = value` as an own property even for `__proto__` (whose assignment sets the prototype). */
function defineOwnValue(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { configurable: true, enumerable: true, writable: true, value });
}

interface Run {
  variables: Record<string, unknown>;
  errors: GraphQLError[];
}

function describe(path: Path, type: GraphQLOutputType, parentType: GraphQLNamedType): string {
  const last = path[path.length - 1];
  return typeof last === 'string'
    ? `field ${parentType.name}.${last}`
    : `array element of type ${String(type)} at index ${String(last)}`;
}

function validLeaf(type: GraphQLOutputType, v: unknown): boolean {
  if (isEnumType(type)) return typeof v === 'string' && type.getValue(v) !== undefined;
  switch ((type as GraphQLNamedType).name) {
    case 'String':
      return typeof v === 'string';
    case 'ID':
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
    case 'Int':
      return typeof v === 'number' && Number.isInteger(v);
    case 'Float':
      return typeof v === 'number' && Number.isFinite(v);
    case 'Boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

function ifArg(
  node:
    | FieldNode
    | {
        directives?: readonly { name: { value: string }; arguments?: readonly { name: { value: string }; value: ValueNode }[] }[];
      },
  name: string,
  variables: Record<string, unknown>,
): boolean | undefined {
  const d = node.directives?.find((x) => x.name.value === name);
  if (!d) return undefined;
  const arg = d.arguments?.find((a) => a.name.value === 'if')?.value;
  if (!arg) return undefined;
  if (arg.kind === Kind.BOOLEAN) return arg.value;
  if (arg.kind === Kind.VARIABLE) return variables[arg.name.value] === true;
  return undefined;
}

function included(sel: SelectionSetNode['selections'][number], variables: Record<string, unknown>): boolean {
  if (!sel.directives?.length) return true;
  if (ifArg(sel, 'skip', variables) === true) return false;
  if (ifArg(sel, 'include', variables) === false) return false;
  return true;
}

/** Does the document use @skip or @include anywhere (field collection then varies with variables)? */
export function hasConditions(sets: Iterable<SelectionSetNode>): boolean {
  const walk = (set: SelectionSetNode): boolean =>
    set.selections.some(
      (s) =>
        Boolean(s.directives?.some((d) => d.name.value === 'skip' || d.name.value === 'include')) ||
        ('selectionSet' in s && s.selectionSet ? walk(s.selectionSet) : false),
    );
  for (const s of sets) if (walk(s)) return true;
  return false;
}
