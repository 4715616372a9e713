import type { ClassType } from 'type-graphql';
import { Directive, Field, Int, ObjectType } from 'type-graphql';
import { AppError, ErrorCode } from './errors';

/** Largest page a client may ask for. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** Shared by every subgraph's connections, so `@shareable`. */
@Directive('@shareable')
@ObjectType({ description: 'Relay page information' })
export class PageInfo {
  @Field()
  public hasNextPage!: boolean;

  @Field()
  public hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  public startCursor!: string | null;

  @Field(() => String, { nullable: true })
  public endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Array<Edge<T>>;
  pageInfo: PageInfo;
  totalCount: number;
}

/**
 * The Relay connection and edge types for a node type: `<Name>Connection { edges { cursor node }
 * pageInfo totalCount }`.
 */
export function ConnectionType<T extends object>(name: string, node: ClassType<T>) {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field()
    public cursor!: string;

    @Field(() => node)
    public node!: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionClass {
    @Field(() => [EdgeType])
    public edges!: EdgeType[];

    @Field(() => PageInfo)
    public pageInfo!: PageInfo;

    @Field(() => Int)
    public totalCount!: number;
  }
  return ConnectionClass;
}

/** Opaque cursor: base64url JSON of the sort key values. */
export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): unknown[] {
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(values) && values.length === arity) return values;
  } catch {
    /* fall through */
  }
  throw new AppError(ErrorCode.InvalidRequest, 'Invalid cursor', { field: 'after' });
}

/** The page size to read: `first` capped to MAX_PAGE_SIZE; a negative one is API-002. */
export function pageSize(first: number | null | undefined, max = MAX_PAGE_SIZE): number {
  if (first === null || first === undefined) return Math.min(DEFAULT_PAGE_SIZE, max);
  if (!Number.isInteger(first) || first < 0) throw new AppError(ErrorCode.InvalidRequest, 'first must be a non-negative integer', { field: 'first' });
  return Math.min(first, max);
}

/** Builds a forward page from `limit + 1` rows read after the cursor. */
export function forwardPage<T>(rows: T[], limit: number, cursorOf: (row: T) => string, totalCount: number, hasPrevious: boolean): Connection<T> {
  const page = rows.slice(0, limit);
  const edges = page.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    totalCount,
    pageInfo: {
      hasNextPage: rows.length > limit,
      hasPreviousPage: hasPrevious,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
