import { buildSchema, Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { hasConditions, Shaper } from '../src/executor/shape';

/**
 * The shaper alone: merged subgraph data in, the client's response out (executor.test.ts and
 * executor-merge.test.ts compare whole answers with @apollo/gateway's end to end).
 */
const schema = buildSchema(`
  type Query {
    item: Item
    items: [Item]
    strictItems: [Item!]
    required: Item!
    node: Node
    search: [Result]
    version: String
    count: Int
    status: Status
  }
  interface Node { id: ID! }
  type Item implements Node { id: ID! title: String rating: Int strict: String! tags: [String!] owner: User }
  type Film implements Node { id: ID! title: String minutes: Int }
  type User { name: String }
  union Result = Item | Film
  enum Status { OPEN CLOSED }
`);

function prepare(source: string) {
  const doc = parse(source);
  const operation = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  const shaper = new Shaper(
    schema,
    fragments,
    hasConditions([operation.selectionSet, ...Object.values(fragments).map((f) => f.selectionSet)]),
  );
  return (input: Record<string, unknown> | null, variables: Record<string, unknown> = {}) => {
    const { data, errors } = shaper.shape(schema.getQueryType()!, operation.selectionSet, input, variables);
    return { data, errors: errors.map((e) => ({ message: e.message, path: e.path, code: e.extensions.code })) };
  };
}

const shape = (source: string, input: Record<string, unknown> | null, variables: Record<string, unknown> = {}) =>
  prepare(source)(input, variables);

describe('Shaper: selection', () => {
  it('keeps only the selected fields, under their aliases, in the order of the selection', () => {
    const { data, errors } = shape('{ v: version item { title id } count }', {
      count: 3,
      item: { id: '1', title: 'T', rating: 5, secret: 'x' },
      v: '1.0',
      version: 'not asked under this key',
    });
    expect(data).toEqual({ v: '1.0', item: { title: 'T', id: '1' }, count: 3 });
    expect(Object.keys(data!)).toEqual(['v', 'item', 'count']);
    expect(Object.keys(data!.item as object)).toEqual(['title', 'id']);
    expect(errors).toEqual([]);
  });

  it('gives null for a nullable field the data lacks, and null data for no data', () => {
    expect(shape('{ version item { id title } }', { item: { id: '1' } }).data).toEqual({
      version: null,
      item: { id: '1', title: null },
    });
    expect(shape('{ version }', null)).toEqual({ data: null, errors: [] });
  });

  it('merges two selections of one response key', () => {
    const { data } = shape('{ item { id } item { title owner { name } } }', {
      item: { id: '1', title: 'T', owner: { name: 'Ann' } },
    });
    expect(data).toEqual({ item: { id: '1', title: 'T', owner: { name: 'Ann' } } });
  });

  it('shapes each element of a list', () => {
    const { data } = shape('{ items { id } }', { items: [{ id: '1', title: 'a' }, null, { id: '3' }] });
    expect(data).toEqual({ items: [{ id: '1' }, null, { id: '3' }] });
  });
});

describe('Shaper: __typename', () => {
  it('fills it in from the field type when the data lacks it, under any alias', () => {
    const { data } = shape('{ item { __typename t: __typename id } }', { item: { id: '1' } });
    expect(data).toEqual({ item: { __typename: 'Item', t: 'Item', id: '1' } });
  });

  it('takes the runtime type of an interface or union from the data', () => {
    const { data } = shape('{ node { kind: __typename id } }', { node: { __typename: 'Film', id: 'f1' } });
    expect(data).toEqual({ node: { kind: 'Film', id: 'f1' } });
  });

  it('an unknown __typename is null with an error', () => {
    const { data, errors } = shape('{ node { id } version }', { node: { __typename: 'Nope', id: 'x' }, version: '1' });
    expect(data).toEqual({ node: null, version: '1' });
    expect(errors).toEqual([
      { message: 'Invalid __typename found for object at field Query.node.', path: ['node'], code: 'INVALID_GRAPHQL' },
    ]);
  });
});

describe('Shaper: fragments', () => {
  const source = `
    { search { __typename ... on Item { id title } ... on Film { id minutes } ...N } }
    fragment N on Node { id }
  `;
  const input = () => ({
    search: [
      { __typename: 'Item', id: '1', title: 'A', minutes: 9 },
      { __typename: 'Film', id: 'f1', title: 'F', minutes: 90 },
    ],
  });

  it('applies inline and named fragments by runtime type (an interface fragment to its implementations)', () => {
    const { data, errors } = shape(source, input());
    expect(data).toEqual({
      search: [
        { __typename: 'Item', id: '1', title: 'A' },
        { __typename: 'Film', id: 'f1', minutes: 90 },
      ],
    });
    expect(errors).toEqual([]);
  });

  it('gives the same answer when it shapes again from its cached field collection', () => {
    const run = prepare(source);
    const first = run(input());
    const second = run({
      search: [
        { __typename: 'Film', id: 'f2', minutes: 1, title: 'x' },
        { __typename: 'Item', id: '2', title: 'B' },
      ],
    });
    expect(first.data).toEqual(shape(source, input()).data);
    expect(second.data).toEqual({
      search: [
        { __typename: 'Film', id: 'f2', minutes: 1 },
        { __typename: 'Item', id: '2', title: 'B' },
      ],
    });
  });

  it('a fragment on another object type does not apply', () => {
    const { data } = shape('{ item { id ... on Film { minutes } ...F } } fragment F on Film { title }', {
      item: { id: '1', minutes: 5, title: 'T' },
    });
    expect(data).toEqual({ item: { id: '1' } });
  });

  it('a fragment spread twice is collected once', () => {
    const { data } = shape('{ item { ...I ...I } } fragment I on Item { id title }', { item: { id: '1', title: 'T' } });
    expect(data).toEqual({ item: { id: '1', title: 'T' } });
  });
});

describe('Shaper: @skip and @include', () => {
  const run = prepare(
    'query Q($on: Boolean!) { version @skip(if: $on) count @include(if: $on) item { id @include(if: false) title @skip(if: false) } }',
  );
  const input = { version: '1', count: 2, item: { id: '1', title: 'T' } };

  it('collects fields per request from the variables', () => {
    expect(run(input, { on: true }).data).toEqual({ count: 2, item: { title: 'T' } });
    expect(run(input, { on: false }).data).toEqual({ version: '1', item: { title: 'T' } });
    expect(Object.keys(run(input, { on: false }).data!)).toEqual(['version', 'item']);
  });

  it('applies to fragments too', () => {
    const { data } = shape(
      'query Q($x: Boolean!) { item { ... on Item @include(if: $x) { title } ...I @skip(if: $x) } } fragment I on Item { id }',
      { item: { id: '1', title: 'T' } },
      { x: true },
    );
    expect(data).toEqual({ item: { title: 'T' } });
  });
});

describe('Shaper: null in a non-null position', () => {
  it('nulls the parent object, with an error at the field', () => {
    const { data, errors } = shape('{ item { id strict } version }', { item: { id: '1', strict: null }, version: '1' });
    expect(data).toEqual({ item: null, version: '1' });
    expect(errors).toEqual([
      { message: 'Cannot return null for non-nullable field Item.strict.', path: ['item', 'strict'], code: 'INVALID_GRAPHQL' },
    ]);
  });

  it('bubbles through non-null parents up to the root, one error only', () => {
    const { data, errors } = shape('{ required { strict } version }', { required: { strict: null }, version: '1' });
    expect(data).toBeNull();
    expect(errors).toEqual([
      {
        message: 'Cannot return null for non-nullable field Item.strict.',
        path: ['required', 'strict'],
        code: 'INVALID_GRAPHQL',
      },
    ]);
  });

  it('a missing non-null root field nulls the data', () => {
    const { data, errors } = shape('{ required { id } }', {});
    expect(data).toBeNull();
    expect(errors).toEqual([
      { message: 'Cannot return null for non-nullable field Query.required.', path: ['required'], code: 'INVALID_GRAPHQL' },
    ]);
  });

  it('a null element of a list of non-null nulls the list', () => {
    const { data, errors } = shape('{ strictItems { id } item { tags } }', {
      strictItems: [{ id: '1' }, null],
      item: { tags: ['a', null, 'c'] },
    });
    expect(data).toEqual({ strictItems: null, item: { tags: null } });
    expect(errors).toEqual([
      {
        message: 'Cannot return null for non-nullable array element of type Item at index 1.',
        path: ['strictItems', 1],
        code: 'INVALID_GRAPHQL',
      },
      {
        message: 'Cannot return null for non-nullable array element of type String at index 1.',
        path: ['item', 'tags', 1],
        code: 'INVALID_GRAPHQL',
      },
    ]);
  });

  it('a non-null element that nulls itself nulls the list, the error at the inner field', () => {
    const { data, errors } = shape('{ strictItems { id strict } }', {
      strictItems: [
        { id: '1', strict: 's' },
        { id: '2', strict: null },
      ],
    });
    expect(data).toEqual({ strictItems: null });
    expect(errors).toEqual([
      {
        message: 'Cannot return null for non-nullable field Item.strict.',
        path: ['strictItems', 1, 'strict'],
        code: 'INVALID_GRAPHQL',
      },
    ]);
  });
});

describe('Shaper: values of the wrong kind', () => {
  it.each([
    ['count', '3', 'field Query.count'],
    ['count', 1.5, 'field Query.count'],
    ['status', 'DONE', 'field Query.status'],
    ['version', 7, 'field Query.version'],
    ['item', 'a string', 'field Query.item'],
    ['item', [], 'field Query.item'],
    ['items', { id: '1' }, 'field Query.items'],
  ])('%s = %j is null with an error', (field, value, where) => {
    const selection = field.startsWith('item') ? `${field} { id }` : field;
    const { data, errors } = shape(`{ ${selection} }`, { [field]: value });
    expect(data).toEqual({ [field]: null });
    expect(errors).toEqual([{ message: `Invalid value found for ${where}.`, path: [field], code: 'INVALID_GRAPHQL' }]);
  });

  it('accepts valid leaves: enum values, integer IDs', () => {
    const { data, errors } = shape('{ status node { id } }', { status: 'OPEN', node: { __typename: 'Item', id: 7 } });
    expect(data).toEqual({ status: 'OPEN', node: { id: 7 } });
    expect(errors).toEqual([]);
  });

  it('a wrong value in a non-null position nulls the parent with that one error', () => {
    const { data, errors } = shape('{ item { strict } }', { item: { strict: 5 } });
    expect(data).toEqual({ item: null });
    expect(errors).toEqual([
      { message: 'Invalid value found for field Item.strict.', path: ['item', 'strict'], code: 'INVALID_GRAPHQL' },
    ]);
  });
});

describe('Shaper: response keys every object inherits', () => {
  it('an alias __proto__ is an own key of the answer, and Object.prototype stays clean', () => {
    const input = JSON.parse('{"__proto__": {"id": "1", "title": "T"}, "constructor": "v1"}') as Record<string, unknown>;
    const { data, errors } = shape('{ __proto__: item { id } constructor: version }', input);
    expect(errors).toEqual([]);
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(data, '__proto__')?.value).toEqual({ id: '1' });
    expect(Object.getOwnPropertyDescriptor(data, 'constructor')?.value).toBe('v1');
    expect(Object.keys(data!)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).id).toBeUndefined();
  });

  it('reads only own properties: an inherited one is not data', () => {
    const { data, errors } = shape('{ constructor: version toString: item { id } }', {});
    expect(errors).toEqual([]);
    expect(Object.getOwnPropertyDescriptor(data, 'constructor')?.value).toBeNull();
    expect(Object.getOwnPropertyDescriptor(data, 'toString')?.value).toBeNull();
  });

  it('__typename under an inherited alias is still the type name', () => {
    const { data } = shape('{ item { constructor: __typename } }', { item: {} });
    expect(Object.getOwnPropertyDescriptor(data!.item as object, 'constructor')?.value).toBe('Item');
  });
});

describe('hasConditions', () => {
  const sets = (source: string) => {
    const doc = parse(source);
    return doc.definitions.map((d) => (d as OperationDefinitionNode | FragmentDefinitionNode).selectionSet);
  };

  it('is false without @skip/@include (other directives do not count)', () => {
    expect(hasConditions(sets('{ item { id ... on Item { title } } version @deprecated }'))).toBe(false);
    expect(hasConditions([])).toBe(false);
  });

  it('finds @skip or @include at any depth, in fragments and on fragments', () => {
    expect(hasConditions(sets('{ version @skip(if: true) }'))).toBe(true);
    expect(hasConditions(sets('{ item { owner { name @include(if: false) } } }'))).toBe(true);
    expect(hasConditions(sets('{ item { ... on Item @include(if: true) { id } } }'))).toBe(true);
    expect(hasConditions(sets('{ item { ...F } } fragment F on Item { id @skip(if: true) }'))).toBe(true);
    expect(hasConditions(sets('{ item { ...F @skip(if: true) } } fragment F on Item { id }'))).toBe(true);
  });
});
