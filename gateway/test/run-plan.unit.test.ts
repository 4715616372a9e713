import type { GraphQLDataSource } from '@apollo/gateway';
import type { FetchNode, PlanNode, QueryPlanSelectionNode } from '@apollo/query-planner';
import { buildSchema, GraphQLError } from 'graphql';
import {
  deepMerge,
  defineOwn,
  errorPaths,
  flatten,
  mergeEntities,
  representationsOf,
  runNode,
  type PlanRun,
} from '../src/executor/run-plan';

/**
 * The executor's merging without subgraphs: how fetched data joins the response tree, which
 * representations an entity fetch sends, and where subgraph errors land (executor-merge.test.ts
 * compares whole answers with @apollo/gateway's over real subgraphs).
 */
type Obj = Record<string, unknown>;

const supergraph = buildSchema(`
  type Query { items: [Item] }
  interface Node { id: ID! }
  type Item implements Node { id: ID! title: String rating: Int owner: User review: Review }
  type Film implements Node { id: ID! minutes: Int }
  type User { id: ID! name: String }
  type Review { stars: Int note: String }
`);

const field = (name: string, selections?: QueryPlanSelectionNode[]): QueryPlanSelectionNode => ({
  kind: 'Field',
  name,
  ...(selections ? { selections } : {}),
});
const on = (typeCondition: string, selections: QueryPlanSelectionNode[]): QueryPlanSelectionNode => ({
  kind: 'InlineFragment',
  typeCondition,
  selections,
});
/** What an entity fetch for Item by id requires (as the query planner writes it). */
const itemKey = [on('Item', [field('__typename'), field('id')])];

describe('deepMerge', () => {
  it('merges objects by key in place, keeping what the target had', () => {
    const target: Obj = { a: 1, b: { c: 1, keep: true } };
    const out = deepMerge(target, { b: { c: 2, d: 3 }, e: 'x' });
    expect(out).toBe(target);
    expect(target).toEqual({ a: 1, b: { c: 2, keep: true, d: 3 }, e: 'x' });
  });

  it('skips undefined, lets null and scalars replace', () => {
    const target: Obj = { a: { x: 1 }, b: 2, c: 3 };
    deepMerge(target, { a: null, b: undefined, c: 'three' });
    expect(target).toEqual({ a: null, b: 2, c: 'three' });
  });

  it('merges lists of the same length element by element, replaces lists of another length', () => {
    const target: Obj = { same: [{ id: 1 }, { id: 2 }, 5], other: [{ id: 1 }] };
    deepMerge(target, { same: [{ t: 'a' }, { t: 'b' }, 6], other: [{ t: 'x' }, { t: 'y' }] });
    expect(target).toEqual({ same: [{ id: 1, t: 'a' }, { id: 2, t: 'b' }, 6], other: [{ t: 'x' }, { t: 'y' }] });
  });

  it('replaces an object with a list and a list with an object', () => {
    const target: Obj = { a: { x: 1 }, b: [1] };
    deepMerge(target, { a: [1, 2], b: { y: 2 } });
    expect(target).toEqual({ a: [1, 2], b: { y: 2 } });
  });

  it('leaves the target as it is for no source', () => {
    const target: Obj = { a: 1 };
    expect(deepMerge(target, null)).toEqual({ a: 1 });
    expect(deepMerge(target, undefined)).toEqual({ a: 1 });
  });

  it('a key __proto__ from a subgraph (or an alias) becomes an own key; Object.prototype stays clean', () => {
    const target: Obj = {};
    deepMerge(target, JSON.parse('{"__proto__": {"polluted": true}, "nested": {"__proto__": {"polluted": true}}}') as Obj);
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(target, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.getPrototypeOf(target.nested)).toBe(Object.prototype);
    expect(({} as Obj).polluted).toBeUndefined();
    // merging into an existing own __proto__ merges into that object, not into Object.prototype
    deepMerge(target, JSON.parse('{"__proto__": {"more": 1}}') as Obj);
    expect(Object.getOwnPropertyDescriptor(target, '__proto__')?.value).toEqual({ polluted: true, more: 1 });
    expect(({} as Obj).more).toBeUndefined();
  });

  it('a key constructor replaces the inherited function with the data', () => {
    const target: Obj = {};
    deepMerge(target, { constructor: { name: 'data' } });
    expect(Object.hasOwn(target, 'constructor')).toBe(true);
    expect(target.constructor).toEqual({ name: 'data' });
    expect(({} as Obj).constructor).toBe(Object);
  });
});

describe('defineOwn', () => {
  it('shadows an inherited key with an own undefined one', () => {
    const obj: Obj = {};
    defineOwn(obj, 'toString');
    expect(Object.hasOwn(obj, 'toString')).toBe(true);
    expect(obj.toString).toBeUndefined();
    expect(Object.keys(obj)).toEqual(['toString']);
    defineOwn(obj, '__proto__');
    obj.__proto__ = { x: 1 }; // now a plain property assignment
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
  });

  it('leaves own and unknown keys alone', () => {
    const obj: Obj = { a: 1 };
    defineOwn(obj, 'a');
    defineOwn(obj, 'b');
    expect(obj).toEqual({ a: 1 });
    expect(Object.hasOwn(obj, 'b')).toBe(false);
  });
});

describe('flatten', () => {
  const data = {
    items: [
      { id: '1', owner: { id: 'u1' }, tags: ['a', 'b'] },
      null,
      { id: '2', owner: null, tags: [] },
      { id: '3', owner: { id: 'u2' }, tags: ['c'] },
    ],
  };

  it('follows keys and lists, one flat list across lists (nulls kept as they are)', () => {
    expect(flatten(data, ['items', '@', 'id'], 0)).toEqual(['1', null, '2', '3']);
    expect(flatten(data, ['items', '@', 'owner'], 0)).toEqual([{ id: 'u1' }, null, null, { id: 'u2' }]);
    expect(flatten(data, ['items', '@', 'tags', '@'], 0)).toEqual(['a', 'b', null, 'c']);
  });

  it('gives the same objects (merging into them fills the response)', () => {
    const owners = flatten(data, ['items', '@', 'owner'], 0) as Array<Obj | null>;
    expect(owners[0]).toBe(data.items[0]!.owner);
  });

  it('is undefined where the path does not fit the data', () => {
    expect(flatten(data, ['items', 'id'], 0)).toBeUndefined(); // a key on a list
    expect(flatten({ item: { id: 1 } }, ['item', '@'], 0)).toBeUndefined(); // '@' on an object
    expect(flatten({}, ['missing', 'x'], 0)).toBeUndefined();
    expect(flatten({}, ['__proto__'], 0)).toBeUndefined(); // never the prototype
    expect(flatten({ a: null }, ['a', 'b'], 0)).toBeNull();
  });
});

describe('representationsOf', () => {
  it('sends one representation per distinct entity, and maps every entity to its own', () => {
    const entities: Obj[] = [
      { __typename: 'Item', id: '1', title: 'one' },
      { __typename: 'Item', id: '2' },
      { __typename: 'Item', id: '1', title: 'one again' },
      { __typename: 'Item', id: 1 }, // a number: another key than '1'
    ];
    const { representations, repOf } = representationsOf(supergraph, entities, itemKey);
    expect(representations).toEqual([
      { __typename: 'Item', id: '1' },
      { __typename: 'Item', id: '2' },
      { __typename: 'Item', id: 1 },
    ]);
    expect(repOf).toEqual([0, 1, 0, 2]);
  });

  it('leaves out entities of another type, without their key, or without __typename', () => {
    const entities: Obj[] = [
      { __typename: 'Film', id: 'f1' },
      { __typename: 'Item' },
      { id: '3' },
      { __typename: 'Item', id: '4' },
    ];
    const { representations, repOf } = representationsOf(supergraph, entities, itemKey);
    expect(representations).toEqual([{ __typename: 'Item', id: '4' }]);
    expect(repOf).toEqual([-1, -1, -1, 0]);
  });

  it('applies a type condition on an interface to its implementations', () => {
    const requires = [on('Node', [field('__typename'), field('id')])];
    const { representations } = representationsOf(
      supergraph,
      [
        { __typename: 'Film', id: 'f1', minutes: 3 },
        { __typename: 'Item', id: '1' },
      ],
      requires,
    );
    expect(representations).toEqual([
      { __typename: 'Film', id: 'f1' },
      { __typename: 'Item', id: '1' },
    ]);
  });

  it('includes required nested fields, and tells apart entities that differ only there', () => {
    const requires = [on('Item', [field('__typename'), field('id'), field('owner', [field('id')])])];
    const entities: Obj[] = [
      { __typename: 'Item', id: '1', owner: { id: 'u1', name: 'Ann' } },
      { __typename: 'Item', id: '1', owner: { id: 'u2' } },
      { __typename: 'Item', id: '1', owner: { id: 'u1' } },
    ];
    const { representations, repOf } = representationsOf(supergraph, entities, requires);
    expect(representations).toEqual([
      { __typename: 'Item', id: '1', owner: { id: 'u1' } },
      { __typename: 'Item', id: '1', owner: { id: 'u2' } },
    ]);
    expect(repOf).toEqual([0, 1, 0]);
  });

  it('keys flat requirements on every field, per type, with values told apart by type', () => {
    const requires = [
      on('Item', [field('__typename'), field('id'), field('rating')]),
      on('Film', [field('__typename'), field('id')]),
    ];
    const entities: Obj[] = [
      { __typename: 'Item', id: '1', rating: 5, title: 'x' },
      { __typename: 'Item', id: '1', rating: 4 },
      { __typename: 'Film', id: '1', rating: 5 },
      { __typename: 'Item', id: '1', rating: 5 },
      { __typename: 'Item', id: '1', rating: '5' },
      { __typename: 'Item', id: '1', rating: null },
      { __typename: 'Item', id: '1', rating: null },
      { __typename: 'Item', id: '1' }, // rating missing: not asked for
      { __typename: 'Film', id: '1' },
    ];
    const { representations, repOf } = representationsOf(supergraph, entities, requires);
    expect(representations).toEqual([
      { __typename: 'Item', id: '1', rating: 5 },
      { __typename: 'Item', id: '1', rating: 4 },
      { __typename: 'Film', id: '1' },
      { __typename: 'Item', id: '1', rating: '5' },
      { __typename: 'Item', id: '1', rating: null },
    ]);
    expect(repOf).toEqual([0, 1, 2, 0, 3, 4, 4, -1, 2]);
  });

  it('keys a leaf value that is an object (a JSON scalar) by its content', () => {
    const requires = [on('Item', [field('__typename'), field('id'), field('review')])];
    const entities: Obj[] = [
      { __typename: 'Item', id: '1', review: { stars: 5 } },
      { __typename: 'Item', id: '1', review: { stars: 4 } },
      { __typename: 'Item', id: '1', review: { stars: 5 } },
      { __typename: 'Item', id: '2', review: null },
    ];
    const { representations, repOf } = representationsOf(supergraph, entities, requires);
    expect(representations).toEqual([
      { __typename: 'Item', id: '1', review: { stars: 5 } },
      { __typename: 'Item', id: '1', review: { stars: 4 } },
      { __typename: 'Item', id: '2', review: null },
    ]);
    expect(repOf).toEqual([0, 1, 0, 2]);
  });

  it("reads a key named like an inherited property only as the entity's own", () => {
    const requires = [on('Item', [field('__typename'), { kind: 'Field', name: 'id', alias: 'constructor' }])];
    const entities: Obj[] = [{ __typename: 'Item' }, { __typename: 'Item', constructor: '7' }];
    const { representations, repOf } = representationsOf(supergraph, entities, requires);
    expect(representations).toEqual([{ __typename: 'Item', constructor: '7' }]);
    expect(repOf).toEqual([-1, 0]);
  });

  it('applies input rewrites to the representation, not to the entity', () => {
    const entity: Obj = { __typename: 'Item', id: '1' };
    const { representations } = representationsOf(supergraph, [entity], itemKey, [
      { kind: 'ValueSetter', path: ['... on Item', '__typename'], setValueTo: 'Product' },
    ]);
    expect(representations).toEqual([{ __typename: 'Product', id: '1' }]);
    expect(entity.__typename).toBe('Item');
  });
});

describe('mergeEntities', () => {
  it('merges each answer into every entity that asked for it; a null answer or no representation changes nothing', () => {
    const entities: Obj[] = [
      { __typename: 'Item', id: '1' },
      { __typename: 'Item', id: '2' },
      { __typename: 'Item', id: '1', title: 'kept' },
      { id: 'x' },
    ];
    mergeEntities(supergraph, entities, [0, 1, 0, -1], [{ __typename: 'Item', rating: 3, review: { stars: 5 } }, null]);
    expect(entities).toEqual([
      { __typename: 'Item', id: '1', rating: 3, review: { stars: 5 } },
      { __typename: 'Item', id: '2' },
      { __typename: 'Item', id: '1', title: 'kept', rating: 3, review: { stars: 5 } },
      { id: 'x' },
    ]);
  });

  it('keeps the entity’s __typename when the answer has none', () => {
    const entities: Obj[] = [{ __typename: 'Film', id: 'f1' }];
    mergeEntities(supergraph, entities, [0], [{ minutes: 90 }]);
    expect(entities[0]).toEqual({ __typename: 'Film', id: 'f1', minutes: 90 });
  });

  it('deep-merges into what the entity already has', () => {
    const entities: Obj[] = [{ __typename: 'Item', id: '1', review: { stars: 4 } }];
    mergeEntities(supergraph, entities, [0], [{ __typename: 'Item', review: { note: 'good' } }]);
    expect(entities[0]).toEqual({ __typename: 'Item', id: '1', review: { stars: 4, note: 'good' } });
  });

  it('applies output rewrites (a renamed key) before merging', () => {
    const entities: Obj[] = [{ __typename: 'Item', id: '1' }];
    mergeEntities(
      supergraph,
      entities,
      [0],
      [{ __typename: 'Item', rating__alias: 7 }],
      [{ kind: 'KeyRenamer', path: ['... on Item', 'rating__alias'], renameKeyTo: 'rating' }],
    );
    expect(entities[0]).toEqual({ __typename: 'Item', id: '1', rating: 7 });
  });
});

describe('errorPaths', () => {
  const entityFetch = { kind: 'Fetch', serviceName: 'reviews', requires: itemKey } as unknown as FetchNode;
  const rootFetch = { kind: 'Fetch', serviceName: 'catalog' } as unknown as FetchNode;

  it('maps a representation index to the response path of the first entity that used it', () => {
    const root = { items: [{ id: '1' }, null, { id: '2' }, { id: '1' }] };
    // entities as runFetch gathers them (nulls left out): 1, 2, 1 → representations 0, 1, 0
    const pathOf = errorPaths({ path: ['items', '@'], data: root.items, root }, entityFetch, { entities: [], repOf: [0, 1, 0] });
    expect(pathOf(['_entities', 1, 'rating'])).toEqual(['items', 2, 'rating']);
    expect(pathOf(['_entities', 0, 'review', 'stars'])).toEqual(['items', 0, 'review', 'stars']);
    expect(pathOf(undefined)).toBeUndefined();
  });

  it('through nested lists', () => {
    const root = { lists: [{ items: [{ id: 'a' }] }, { items: [{ id: 'b' }, { id: 'c' }] }] };
    const pathOf = errorPaths({ path: ['lists', '@', 'items', '@'], data: null, root }, entityFetch, {
      entities: [],
      repOf: [0, 1, 2],
    });
    expect(pathOf(['_entities', 2, 'title'])).toEqual(['lists', 1, 'items', 1, 'title']);
  });

  it('prefixes a root fetch’s error path with where the fetch ran', () => {
    expect(errorPaths({ path: [], data: {}, root: {} }, rootFetch)(['items', 0, 'title'])).toEqual(['items', 0, 'title']);
    expect(errorPaths({ path: ['me', '@'], data: {}, root: {} }, rootFetch)(['x'])).toEqual(['me', 'x']);
  });
});

describe('runNode with in-memory subgraphs', () => {
  type Request = { query: string; variables: Obj };
  /** A data source answering from `answer`, recording what it was sent (no network). */
  function service(
    answer: (req: Request) => {
      data?: Obj | null;
      errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Obj }>;
    },
  ) {
    const calls: Request[] = [];
    const source = {
      process: async ({ request }: { request: Request }) => {
        calls.push(request);
        return answer(request);
      },
    } as unknown as GraphQLDataSource;
    return { source, calls };
  }
  const fetchNode = (serviceName: string, operation: string, extra: Partial<FetchNode> = {}): PlanNode =>
    ({ kind: 'Fetch', serviceName, operation, operationName: undefined, operationKind: 'query', ...extra }) as FetchNode;

  function planRun(services: Record<string, GraphQLDataSource>, variables: Obj = {}): PlanRun {
    return {
      supergraph,
      services: (name) => services[name],
      variables,
      coerced: {},
      errors: [],
      requestContext: {},
      context: {},
    };
  }

  it('fetches the list, then each distinct entity once, and merges the answers into every occurrence', async () => {
    const catalog = service(() => ({
      data: { items: [{ __typename: 'Item', id: '1' }, { __typename: 'Item', id: '2' }, null, { __typename: 'Item', id: '1' }] },
    }));
    const reviews = service((req) => ({
      data: { _entities: (req.variables.representations as Obj[]).map((r) => ({ rating: Number(r.id) * 10 })) },
    }));
    const run = planRun({ catalog: catalog.source, reviews: reviews.source });
    const plan: PlanNode = {
      kind: 'Sequence',
      nodes: [
        fetchNode('catalog', '{ items { __typename id } }'),
        {
          kind: 'Flatten',
          path: ['items', '@'],
          node: fetchNode('reviews', 'query($representations:[_Any!]!){...}', { requires: itemKey }) as FetchNode,
        },
      ],
    };
    const data: Obj = {};
    await runNode(run, plan, { path: [], data, root: data });
    expect(run.errors).toEqual([]);
    expect(reviews.calls).toHaveLength(1);
    expect(reviews.calls[0]!.variables.representations).toEqual([
      { __typename: 'Item', id: '1' },
      { __typename: 'Item', id: '2' },
    ]);
    expect(data).toEqual({
      items: [
        { __typename: 'Item', id: '1', rating: 10 },
        { __typename: 'Item', id: '2', rating: 20 },
        null,
        { __typename: 'Item', id: '1', rating: 10 },
      ],
    });
  });

  it('passes only the variables a fetch uses', async () => {
    const catalog = service(() => ({ data: { items: [] } }));
    const run = planRun({ catalog: catalog.source }, { a: 1, b: 2, unset: undefined });
    const data: Obj = {};
    await runNode(run, fetchNode('catalog', 'query($a:Int,$unset:Int){items}', { variableUsages: ['a', 'unset'] }), {
      path: [],
      data,
      root: data,
    });
    expect(catalog.calls[0]!.variables).toEqual({ a: 1 });
  });

  it('turns subgraph errors into response errors at the entity’s path, naming the service, and still merges the rest', async () => {
    const catalog = service(() => ({
      data: {
        items: [
          { __typename: 'Item', id: '1' },
          { __typename: 'Item', id: '2' },
        ],
      },
    }));
    const reviews = service(() => ({
      data: { _entities: [{ rating: 1 }, null] },
      errors: [
        { message: 'No access', path: ['_entities', 1, 'rating'], extensions: { code: 'PERM-001' } },
        { message: '', path: ['_entities', 0] },
      ],
    }));
    const run = planRun({ catalog: catalog.source, reviews: reviews.source });
    const plan: PlanNode = {
      kind: 'Sequence',
      nodes: [
        fetchNode('catalog', '{ items { __typename id } }'),
        { kind: 'Flatten', path: ['items', '@'], node: fetchNode('reviews', '...', { requires: itemKey }) as FetchNode },
      ],
    };
    const data: Obj = {};
    await runNode(run, plan, { path: [], data, root: data });
    expect(data).toEqual({
      items: [
        { __typename: 'Item', id: '1', rating: 1 },
        { __typename: 'Item', id: '2' },
      ],
    });
    expect(run.errors.map((e) => ({ message: e.message, path: e.path, extensions: e.extensions }))).toEqual([
      { message: 'No access', path: ['items', 1, 'rating'], extensions: { code: 'PERM-001', serviceName: 'reviews' } },
      {
        message: 'Error while fetching subquery from service "reviews"',
        path: ['items', 0],
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'reviews' },
      },
    ]);
  });

  it('an answer with the wrong number of entities is an error, and nothing is merged', async () => {
    const reviews = service(() => ({ data: { _entities: [{ rating: 1 }] } }));
    const run = planRun({ reviews: reviews.source });
    const items: Obj[] = [
      { __typename: 'Item', id: '1' },
      { __typename: 'Item', id: '2' },
    ];
    const data: Obj = { items };
    await runNode(
      run,
      { kind: 'Flatten', path: ['items', '@'], node: fetchNode('reviews', '...', { requires: itemKey }) as FetchNode },
      { path: [], data, root: data },
    );
    expect(run.errors.map((e) => e.message)).toEqual(['Expected "data._entities" to contain 2 elements']);
    expect(items).toEqual([
      { __typename: 'Item', id: '1' },
      { __typename: 'Item', id: '2' },
    ]);
  });

  it('an unknown service is an error for that fetch only', async () => {
    const run = planRun({});
    const data: Obj = {};
    await runNode(run, fetchNode('nowhere', '{ items { id } }'), { path: [], data, root: data });
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toBeInstanceOf(GraphQLError);
    expect(run.errors[0]!.message).toBe('Couldn\'t find service with name "nowhere"');
    expect(data).toEqual({});
  });

  it('a Condition runs the branch its variable selects', async () => {
    const a = service(() => ({ data: { x: 'if' } }));
    const b = service(() => ({ data: { x: 'else' } }));
    const node: PlanNode = {
      kind: 'Condition',
      condition: 'flag',
      ifClause: fetchNode('a', '{x}'),
      elseClause: fetchNode('b', '{x}'),
    };
    for (const [flag, expected] of [
      [true, 'if'],
      [false, 'else'],
      [undefined, 'else'],
    ] as const) {
      const run = { ...planRun({ a: a.source, b: b.source }), coerced: { flag } };
      const data: Obj = {};
      await runNode(run, node, { path: [], data, root: data });
      expect(data).toEqual({ x: expected });
    }
  });
});
