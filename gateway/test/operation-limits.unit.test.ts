import { buildSchema, GraphQLError, Kind, parse, type OperationDefinitionNode } from 'graphql';
import {
  asksForIntrospection,
  invalidPageSize,
  limitError,
  operationCost,
  rootFieldNames,
  withoutSuggestions,
} from '../src/ops/limits/operation-limits';

/** The gateway's own operation limits without a gateway (ops-limits.test.ts runs them end to end). */
const schema = buildSchema(`
  type Query {
    me: User
    user(id: ID!): User
    users: [User!]!
    projects(first: Int, last: Int): ProjectConnection
    search: [Result]
    version: String
  }
  type Mutation { rename(name: String!): User }
  type User { id: ID! name: String friends: [User] projects(first: Int): ProjectConnection }
  type ProjectConnection { edges: [ProjectEdge] nodes: [Project] totalCount: Int }
  type ProjectEdge { cursor: String node: Project }
  type Project { id: ID! name: String tasks(first: Int): [Task] members: [User] }
  type Task { id: ID! title: String }
  union Result = User | Project
`);

function op(source: string, operationName?: string) {
  const document = parse(source);
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  )!;
  return { document, operation };
}

const cost = (source: string, variables: Record<string, unknown> = {}, defaultListSize = 5) => {
  const { document, operation } = op(source);
  return operationCost(schema, document, operation, variables, defaultListSize);
};

describe('operationCost', () => {
  it('counts 1 per field, __typename free', () => {
    expect(cost('{ version }')).toBe(1);
    expect(cost('{ version __typename me { id name __typename } }')).toBe(4);
  });

  it('multiplies what is under a list without first/last by defaultListSize', () => {
    // users (1) + 5 × (id + name)
    expect(cost('{ users { id name } }')).toBe(11);
    expect(cost('{ users { id name } }', {}, 10)).toBe(21);
    // nested lists multiply: users (1) + 5 × (friends (1) + 5 × id (1))
    expect(cost('{ users { friends { id } } }')).toBe(31);
  });

  it('multiplies by first (or last) and counts edges/nodes under a page once', () => {
    // projects (1) + 10 × (edges (1) + node (1) + id (1))
    expect(cost('{ projects(first: 10) { edges { node { id } } } }')).toBe(31);
    expect(cost('{ projects(last: 3) { nodes { id name } totalCount } }')).toBe(13);
    // a list below the page's edges is a list again: tasks without first counts defaultListSize
    // projects (1) + 2 × (nodes (1) + tasks (1) + 5 × title (1))
    expect(cost('{ projects(first: 2) { nodes { tasks { title } } } }')).toBe(15);
    // ... and with first, that number: projects (1) + 2 × (nodes (1) + tasks (1) + 7 × title (1))
    expect(cost('{ projects(first: 2) { nodes { tasks(first: 7) { title } } } }')).toBe(19);
  });

  it('a page without first/last is treated like any list', () => {
    // projects (1, not a list: × 1) + nodes (1, a list not under a page) + 5 × id (1)
    expect(cost('{ projects { nodes { id } } }')).toBe(7);
  });

  it('reads first from variables', () => {
    const q = 'query Q($n: Int) { projects(first: $n) { nodes { id } } }';
    expect(cost(q, { n: 50 })).toBe(1 + 50 * 2);
    // an unset variable: no page size, the connection is one object and nodes a list of 5
    expect(cost(q, {})).toBe(1 + 1 + 5);
  });

  it('a page of zero makes its subtree free, the field itself still counts', () => {
    expect(cost('{ projects(first: 0) { nodes { id name } } }')).toBe(1);
  });

  it.each([
    ['{ projects(first: -1) { nodes { id } } }', {}, 'first'],
    ['{ projects(last: -5) { nodes { id } } }', {}, 'last'],
    ['query Q($n: Int) { projects(first: $n) { nodes { id } } }', { n: -100 }, 'first'],
    ['{ me { projects(first: 1.5) { totalCount } } }', {}, 'first'],
  ])('refuses a negative or fractional page: %s', (source, variables, argument) => {
    let caught: unknown;
    try {
      cost(source, variables);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GraphQLError);
    expect((caught as GraphQLError).message).toBe(`Invalid ${argument}: must be a non-negative integer`);
    expect((caught as GraphQLError).extensions).toEqual({ code: 'API-002', field: argument, http: { status: 400 } });
  });

  it('counts named and inline fragments by their type', () => {
    const q = `
      { search { ... on User { id name } ... on Project { id ...P } } }
      fragment P on Project { members { id } }
    `;
    // search (1) + 5 × (id + name + id + members (1) + 5 × id (1))
    expect(cost(q)).toBe(1 + 5 * (2 + 1 + 1 + 5));
  });

  it('counts mutations on the mutation root', () => {
    expect(cost('mutation { rename(name: "x") { id name } }')).toBe(3);
  });

  it('is 0 for a root type the schema lacks', () => {
    expect(cost('subscription { anything }')).toBe(0);
  });

  it('is bounded for fragments that spread each other (invalid, but costed before validation)', () => {
    const q = '{ me { ...A } } fragment A on User { friends { ...A } }';
    expect(cost(q)).toBe(Infinity);
  });
});

describe('rootFieldNames', () => {
  it('lists root fields in order, duplicates and aliases by field name', () => {
    const { document, operation } = op('{ a: version b: version me { id } }');
    expect(rootFieldNames(document, operation)).toEqual(['version', 'version', 'me']);
  });

  it('follows inline and named fragments, without looping on cycles', () => {
    const { document, operation } = op(`
      query Q { ... on Query { version } ...R }
      fragment R on Query { me { id } ...S }
      fragment S on Query { users { id } ...R }
    `);
    expect(rootFieldNames(document, operation)).toEqual(['version', 'me', 'users']);
  });

  it('reads only the operation asked for', () => {
    const { document, operation } = op('query A { version } query B { me { id } users { id } }', 'B');
    expect(rootFieldNames(document, operation)).toEqual(['me', 'users']);
  });

  it('skips an unknown fragment', () => {
    const { document, operation } = op('{ version ...Missing }');
    expect(rootFieldNames(document, operation)).toEqual(['version']);
  });
});

describe('errors and messages', () => {
  it('invalidPageSize is API-002 naming the argument', () => {
    const e = invalidPageSize('last');
    expect(e.message).toBe('Invalid last: must be a non-negative integer');
    expect(e.extensions).toEqual({ code: 'API-002', field: 'last', http: { status: 400 } });
  });

  it('limitError is a validation failure (400)', () => {
    const e = limitError('too deep');
    expect(e.message).toBe('too deep');
    expect(e.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } });
  });

  it.each([
    ['Cannot query field "nme" on type "User". Did you mean "name"?', 'Cannot query field "nme" on type "User".'],
    ['Unknown argument "frist". Did you mean "first" or "last"?', 'Unknown argument "frist".'],
    ['Unknown type "Usr". Did you mean "User" or\n"Users"?', 'Unknown type "Usr".'],
    ['Cannot query field "x" on type "Query".', 'Cannot query field "x" on type "Query".'],
    ['Did you mean "name"? is in the middle. Fine', 'Did you mean "name"? is in the middle. Fine'],
  ])('withoutSuggestions(%j)', (message, expected) => {
    expect(withoutSuggestions(message)).toBe(expected);
  });

  it('asksForIntrospection: __schema and __type, not __typename', () => {
    expect(asksForIntrospection(schema, parse('{ __schema { queryType { name } } }'))).toBe(true);
    expect(asksForIntrospection(schema, parse('{ me { id } __type(name: "User") { name } }'))).toBe(true);
    expect(asksForIntrospection(schema, parse('{ __typename me { __typename } }'))).toBe(false);
  });
});
