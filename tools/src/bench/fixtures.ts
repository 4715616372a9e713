import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

/**
 * The public federation gateway benchmark's supergraph (accounts, products, inventory, reviews),
 * written here with in-memory fixtures. Each subgraph runs in its own process
 * (`fixture-subgraph.js <name>`).
 */
const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires", "@provides"])';

export const FIXTURE_SDL: Record<string, string> = {
  accounts: `${LINK}
    type Query { me: User users: [User] user(id: ID!): User }
    type User @key(fields: "id") { id: ID! name: String username: String @shareable birthday: Int }`,
  products: `${LINK}
    type Query { topProducts(first: Int = 5): [Product] }
    type Product @key(fields: "upc") { upc: String! name: String price: Int weight: Int }`,
  inventory: `${LINK}
    type Product @key(fields: "upc") {
      upc: String!
      weight: Int @external
      price: Int @external
      inStock: Boolean
      shippingEstimate: Int @requires(fields: "price weight")
    }`,
  reviews: `${LINK}
    type Review { id: ID! body: String author: User @provides(fields: "username") product: Product }
    type User @key(fields: "id") { id: ID! username: String @external reviews: [Review] }
    type Product @key(fields: "upc") { upc: String! reviews: [Review] }`,
};

export const FIXTURE_NAMES = Object.keys(FIXTURE_SDL);

const LOREM = [
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.',
  'Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam rem aperiam.',
  'At vero eos et accusamus et iusto odio dignissimos ducimus qui blanditiis praesentium voluptatum deleniti atque corrupti.',
];

const users = Array.from({ length: 6 }, (_, i) => ({
  id: String(i + 1),
  name: `User ${i + 1}`,
  username: `user${i + 1}`,
  birthday: 1_000_000 + i,
}));
const products = Array.from({ length: 9 }, (_, i) => ({
  upc: String(i + 1),
  name: `Product ${i + 1}`,
  price: 100 + i * 37,
  weight: 10 + i * 5,
}));
const inventory = products.map((p, i) => ({ upc: p.upc, inStock: i % 3 !== 2 }));
// two reviews per product, authors spread over the users
const reviews = products.flatMap((p, i) =>
  [0, 1].map((k) => ({
    id: String(i * 2 + k + 1),
    body: LOREM[(i + k) % LOREM.length]!,
    authorId: users[(i + k) % users.length]!.id,
    upc: p.upc,
  })),
);

type Obj = Record<string, unknown>;
type Resolvers = Record<string, Record<string, unknown>>;

export const FIXTURE_RESOLVERS: Record<string, Resolvers> = {
  accounts: {
    Query: {
      me: () => users[0],
      users: () => users,
      user: (_: unknown, { id }: { id: string }) => users.find((u) => u.id === id) ?? null,
    },
    User: { __resolveReference: (ref: Obj) => users.find((u) => u.id === ref.id) ?? null },
  },
  products: {
    Query: { topProducts: (_: unknown, { first }: { first: number }) => products.slice(0, first) },
    Product: { __resolveReference: (ref: Obj) => products.find((p) => p.upc === ref.upc) ?? null },
  },
  inventory: {
    Product: {
      __resolveReference: (ref: Obj) => ({ ...ref, ...inventory.find((p) => p.upc === ref.upc) }),
      shippingEstimate: (p: { price?: number; weight?: number }) =>
        p.price == null || p.weight == null ? null : p.price > 1000 ? 0 : Math.round(p.weight * 0.5),
    },
  },
  reviews: {
    Review: {
      author: (r: { authorId: string }) => ({
        __typename: 'User',
        id: r.authorId,
        username: users.find((u) => u.id === r.authorId)?.username,
      }),
      product: (r: { upc: string }) => ({ __typename: 'Product', upc: r.upc }),
    },
    User: {
      __resolveReference: (ref: Obj) => ref,
      reviews: (u: { id: string }) => reviews.filter((r) => r.authorId === u.id),
      username: (u: { id: string }) => users.find((x) => x.id === u.id)?.username,
    },
    Product: {
      __resolveReference: (ref: Obj) => ref,
      reviews: (p: { upc: string }) => reviews.filter((r) => r.upc === p.upc),
    },
  },
};

/** The benchmark's query: nested users → reviews → product → reviews → author, plus topProducts. */
export const BENCH_QUERY = `fragment User on User { id username name }
fragment Review on Review { id body }
fragment Product on Product { inStock name price shippingEstimate upc weight }
query TestQuery {
  users { ...User reviews { ...Review product { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } } } }
  topProducts { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } }
}`;

/** Checks a benchmark response's shape (what a correct gateway returns for the fixtures). */
export function benchShapeOk(body: {
  data?: {
    users?: Array<{ reviews?: unknown[] }>;
    topProducts?: Array<{ reviews?: Array<{ author?: { reviews?: unknown[] } }>; shippingEstimate?: unknown }>;
  };
}): boolean {
  const d = body.data;
  if (!d || d.users?.length !== users.length || d.topProducts?.length !== 5) return false;
  const p = d.topProducts[0]!;
  return (
    typeof p.shippingEstimate === 'number' && (p.reviews?.length ?? 0) === 2 && Array.isArray(p.reviews?.[0]?.author?.reviews)
  );
}

/** Composes the fixture subgraphs at the given URLs into a supergraph SDL. */
export function composeFixtures(urls: Record<string, string>): string {
  const result = composeServices(FIXTURE_NAMES.map((name) => ({ name, url: urls[name]!, typeDefs: parse(FIXTURE_SDL[name]!) })));
  if (result.errors) throw new Error(`fixture composition failed: ${result.errors.map((e) => e.message).join('; ')}`);
  return result.supergraphSdl;
}
