import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isListType,
  isObjectType,
  Kind,
  NoSchemaIntrospectionCustomRule,
  validate,
  valueFromASTUntyped,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { ErrorCode } from '@tm/kit/contracts';

/** Limits every operation must stay within (gateway env, see README "Operations"). */
export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxRootFields: number;
  maxTokens: number;
  maxCost: number;
  /** Assumed size of a list field that has no `first`/`last` (and is not inside a paged connection). */
  defaultListSize: number;
}

export type LimitName = 'depth' | 'aliases' | 'directives' | 'root_fields' | 'tokens' | 'cost' | 'introspection' | 'batch';

/** An operation outside the limits: API-002 (Apollo's validation code, which the formatter maps). */
export function limitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } } });
}

/**
 * graphql-armor's depth, alias and directive rules (as Apollo validation rules: a violation is a
 * validation error, which the formatter turns into API-002), each violation counted. Its token
 * limit runs in the parser instead (`parseOptions.maxTokens`); cost and root fields are ours.
 */
export function limitValidationRules(limits: OperationLimits, violated: (limit: LimitName) => void): ValidationRule[] {
  const count = (limit: LimitName) => ({ onReject: [() => violated(limit)] });
  return new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...count('depth') },
    maxAliases: { n: limits.maxAliases, ...count('aliases') },
    maxDirectives: { n: limits.maxDirectives, ...count('directives') },
    costLimit: { enabled: false },
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect().validationRules;
}

/** A `first`/`last` that is not a non-negative integer: API-002 naming the argument (before any subgraph is called). */
export function invalidPageSize(argument: string): GraphQLError {
  return new GraphQLError(`Invalid ${argument}: must be a non-negative integer`, {
    extensions: { code: ErrorCode.InvalidRequest, field: argument, http: { status: 400 } },
  });
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const map = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) map.set(d.name.value, d);
  return map;
}

/** The root field names an operation selects (through fragments too). */
export function rootFieldNames(document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const fragments = fragmentsOf(document);
  const names: string[] = [];
  const walk = (set: SelectionSetNode, seen: Set<string>) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) names.push(s.name.value);
      else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet, seen);
      else if (!seen.has(s.name.value)) {
        const f = fragments.get(s.name.value);
        if (f) walk(f.selectionSet, new Set([...seen, s.name.value]));
      }
    }
  };
  walk(operation.selectionSet, new Set());
  return names;
}

/**
 * The cost of an operation: every field costs 1, times how many times it is expected to run.
 * A field with `first`/`last` (a page) multiplies what is below it by that number; a list field
 * without one multiplies by `defaultListSize`, except the `edges`/`nodes` lists right under a
 * paged field (already counted by its `first`). Variables are read, so `first: $n` counts. A
 * negative (or fractional) `first`/`last` throws `invalidPageSize` (API-002 naming the argument).
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  defaultListSize: number,
): number {
  const fragments = fragmentsOf(document);
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const pageSize = (
    args: ReadonlyArray<{ name: { value: string }; value: Parameters<typeof valueFromASTUntyped>[0] }>,
  ): number | null => {
    for (const a of args) {
      if (a.name.value !== 'first' && a.name.value !== 'last') continue;
      const v = valueFromASTUntyped(a.value, variables);
      // a negative page would make its subtree free here: refused, as every subgraph refuses it
      if (typeof v === 'number' && (!Number.isInteger(v) || v < 0)) throw invalidPageSize(a.name.value);
      if (typeof v === 'number') return v;
    }
    return null;
  };
  const costOf = (set: SelectionSetNode, type: GraphQLCompositeType, underPage: boolean, depth: number): number => {
    if (depth > 64) return Infinity; // cannot happen within the depth limit; never recurse without bound
    let total = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.INLINE_FRAGMENT) {
        const t = s.typeCondition ? schema.getType(s.typeCondition.name.value) : type;
        total += costOf(s.selectionSet, isCompositeType(t) ? t : type, underPage, depth + 1);
        continue;
      }
      if (s.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(s.name.value);
        const t = f ? schema.getType(f.typeCondition.name.value) : null;
        if (f) total += costOf(f.selectionSet, isCompositeType(t) ? t : type, underPage, depth + 1);
        continue;
      }
      const field =
        isObjectType(type) || 'getFields' in type
          ? (type as { getFields(): Record<string, { type: Parameters<typeof getNullableType>[0] }> }).getFields()[s.name.value]
          : undefined;
      if (!field) continue; // __typename and the like
      total += 1;
      if (!s.selectionSet) continue;
      const page = pageSize(s.arguments ?? []);
      const list = isListType(getNullableType(field.type));
      const times = page ?? (list ? (underPage ? 1 : defaultListSize) : 1);
      const named = getNamedType(field.type);
      if (isCompositeType(named)) total += times * costOf(s.selectionSet, named, page !== null, depth + 1);
    }
    return total;
  };
  return costOf(operation.selectionSet, root, false, 0);
}

/** True when the document asks for the schema (`__schema` / `__type`; `__typename` is fine). */
export function asksForIntrospection(schema: GraphQLSchema, document: DocumentNode): boolean {
  return validate(schema, document, [NoSchemaIntrospectionCustomRule]).length > 0;
}

/** "Did you mean …?" suggestions reveal the schema: removed from messages when introspection is off. */
export function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean .+\?$/s, '');
}
