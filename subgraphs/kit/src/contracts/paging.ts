import { AppError, ErrorCode } from './errors';

/** Largest page a client may ask for. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** The page information of a Relay connection (the GraphQL type is PageInfo in @tm/kit/graphql). */
export interface PageInfoShape {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Array<Edge<T>>;
  pageInfo: PageInfoShape;
  totalCount: number;
}

/** Opaque cursor: base64url JSON of the sort key values. */
export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/** Longest cursor accepted (ours are well under 200 characters). */
const MAX_CURSOR_LENGTH = 512;
/** Longest string inside a cursor (an id or an ISO date). */
const MAX_CURSOR_STRING = 200;

const invalidCursor = () => new AppError(ErrorCode.InvalidRequest, 'Invalid cursor', { field: 'after' });

/**
 * The sort key values of a cursor: exactly `arity` plain strings (bounded) or finite numbers,
 * else API-002 naming `after`. A cursor is client input: objects, arrays, null or booleans inside
 * it (e.g. `{"$gt": ""}`) never reach a filter.
 */
export function decodeCursor(cursor: string, arity: number): Array<string | number> {
  let values: unknown;
  try {
    if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH) throw invalidCursor();
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(values) || values.length !== arity) throw invalidCursor();
  for (const v of values) {
    const ok = (typeof v === 'string' && v.length <= MAX_CURSOR_STRING) || (typeof v === 'number' && Number.isFinite(v));
    if (!ok) throw invalidCursor();
  }
  return values as Array<string | number>;
}

/** What one value of a cursor must be: a string, a finite number, or an ISO date string (read as a Date). */
export type CursorPart = 'string' | 'number' | 'date';
type CursorValue<K extends CursorPart> = K extends 'string' ? string : K extends 'number' ? number : Date;

/** A cursor whose values have the given types, in order (API-002 naming `after` otherwise). */
export function decodeTypedCursor<const K extends readonly CursorPart[]>(
  cursor: string,
  kinds: K,
): { -readonly [I in keyof K]: CursorValue<K[I]> } {
  const values = decodeCursor(cursor, kinds.length);
  return kinds.map((kind, i) => {
    const v = values[i];
    if (kind === 'number') {
      if (typeof v !== 'number') throw invalidCursor();
      return v;
    }
    if (typeof v !== 'string') throw invalidCursor();
    if (kind === 'string') return v;
    const date = new Date(v);
    if (Number.isNaN(date.getTime())) throw invalidCursor();
    return date;
  }) as never;
}

/**
 * The page size to read: `first` capped to `max`; a negative or non-integer one is API-002 naming
 * the argument (`name`, default `first`). Call it before reading anything, also when only a total
 * is selected, so a bad value is refused whatever the selection.
 */
export function pageSize(first: number | null | undefined, max = MAX_PAGE_SIZE, name = 'first'): number {
  if (first === null || first === undefined) return Math.min(DEFAULT_PAGE_SIZE, max);
  if (!Number.isInteger(first) || first < 0)
    throw new AppError(ErrorCode.InvalidRequest, `Invalid ${name}: must be a non-negative integer`, { field: name });
  return Math.min(first, max);
}

/** Builds a forward page from `limit + 1` rows read after the cursor. */
export function forwardPage<T>(
  rows: T[],
  limit: number,
  cursorOf: (row: T) => string,
  totalCount: number,
  hasPrevious: boolean,
): Connection<T> {
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
