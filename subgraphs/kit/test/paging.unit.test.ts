import {
  decodeCursor,
  decodeTypedCursor,
  DEFAULT_PAGE_SIZE,
  encodeCursor,
  forwardPage,
  MAX_PAGE_SIZE,
  pageSize,
} from '../src/contracts/paging';
import { AppError, ErrorCode } from '../src/contracts/errors';

/** A cursor made of any JSON (what a client could send). */
const raw = (json: string) => Buffer.from(json).toString('base64url');

/** The coded error every bad cursor gets: API-002 naming `after`. */
function expectInvalidCursor(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect(caught).toMatchObject({ code: ErrorCode.InvalidRequest, message: 'Invalid cursor', details: { field: 'after' } });
}

describe('encodeCursor / decodeCursor', () => {
  it('is base64url JSON of the values', () => {
    expect(encodeCursor(['a', 1])).toBe('WyJhIiwxXQ');
    expect(Buffer.from(encodeCursor(['a', 1]), 'base64url').toString()).toBe('["a",1]');
  });

  it('round-trips strings and finite numbers, in order', () => {
    const values = ['2026-11-30T02:35:00.000Z', 'a1b2c3', -4.5, 0, 1e21, 'ü/+?=&'];
    const cursor = encodeCursor(values);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/); // safe in a URL, no padding
    expect(decodeCursor(cursor, values.length)).toEqual(values);
  });

  it('accepts strings up to 200 characters and cursors up to 512 characters', () => {
    expect(decodeCursor(encodeCursor(['x'.repeat(200)]), 1)).toEqual(['x'.repeat(200)]);
    const long = raw(`["${'y'.repeat(200)}","${'z'.repeat(177)}"]`);
    expect(long).toHaveLength(512); // the longest accepted
    expect(decodeCursor(long, 2)).toHaveLength(2);
  });

  it.each([
    ['a different number of values', encodeCursor(['a']), 2],
    ['too many values', encodeCursor(['a', 'b', 'c']), 2],
    ['an empty string', '', 1],
    ['garbage', '%%%not-a-cursor%%%', 1],
    ['base64 of something not JSON', raw('hello'), 1],
    ['an object instead of a list', raw('{"0":"a"}'), 1],
    ['an operator object inside', raw('[{"$gt":""}]'), 1],
    ['a nested list', raw('[["a"]]'), 1],
    ['null', raw('[null]'), 1],
    ['a boolean', raw('[true]'), 1],
    ['a string over 200 characters', encodeCursor(['x'.repeat(201)]), 1],
    ['a cursor over 512 characters (of valid values)', encodeCursor(['x'.repeat(200), 'y'.repeat(200)]), 2],
    ['a tampered cursor (a character changed)', encodeCursor(['abc', 1]).replace(/^W/, 'X'), 2],
    ['a truncated cursor', encodeCursor(['abc', 1]).slice(0, -3), 2],
  ])('refuses %s with API-002 naming `after`', (_what, cursor, arity) => {
    expectInvalidCursor(() => decodeCursor(cursor, arity));
  });

  it('refuses a cursor that is not a string at all', () => {
    expectInvalidCursor(() => decodeCursor(42 as unknown as string, 1));
    expectInvalidCursor(() => decodeCursor(null as unknown as string, 1));
  });
});

describe('decodeTypedCursor', () => {
  it('reads strings, numbers and ISO dates (as Date) in order', () => {
    const cursor = encodeCursor(['2026-11-30T02:35:00.000Z', 3, 'task-1']);
    const [date, rank, id] = decodeTypedCursor(cursor, ['date', 'number', 'string']);
    expect(date).toBeInstanceOf(Date);
    expect(date.toISOString()).toBe('2026-11-30T02:35:00.000Z');
    expect(rank).toBe(3);
    expect(id).toBe('task-1');
  });

  it.each([
    ['a number where a string belongs', [1], ['string']],
    ['a string where a number belongs', ['1'], ['number']],
    ['a number where a date belongs', [0], ['date']],
    ['a string that is no date', ['not a date'], ['date']],
    ['too few values', ['a'], ['string', 'string']],
  ] as const)('refuses %s', (_what, values, kinds) => {
    expectInvalidCursor(() => decodeTypedCursor(encodeCursor([...values]), kinds));
  });
});

describe('pageSize', () => {
  it('defaults to DEFAULT_PAGE_SIZE (20), capped by a smaller max', () => {
    expect(DEFAULT_PAGE_SIZE).toBe(20);
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(null)).toBe(20);
    expect(pageSize(null, 5)).toBe(5);
  });

  it('keeps a size within bounds, zero included, and caps a larger one', () => {
    expect(pageSize(0)).toBe(0);
    expect(pageSize(1)).toBe(1);
    expect(pageSize(MAX_PAGE_SIZE)).toBe(100);
    expect(pageSize(101)).toBe(100);
    expect(pageSize(1_000_000)).toBe(100);
    expect(pageSize(30, 25)).toBe(25);
  });

  it.each([-1, -100, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %p with API-002 naming the argument', (first) => {
    expect(() => pageSize(first)).toThrow(AppError);
    expect(() => pageSize(first)).toThrow('Invalid first: must be a non-negative integer');
    try {
      pageSize(first, 50, 'last');
    } catch (err) {
      expect(err).toMatchObject({
        code: ErrorCode.InvalidRequest,
        message: 'Invalid last: must be a non-negative integer',
        details: { field: 'last' },
      });
      return;
    }
    throw new Error('pageSize did not throw');
  });
});

describe('forwardPage', () => {
  const cursorOf = (n: number) => `c${n}`;

  it('with limit + 1 rows read: the first limit rows, and a next page', () => {
    const page = forwardPage([1, 2, 3, 4], 3, cursorOf, 10, false);
    expect(page.edges).toEqual([
      { cursor: 'c1', node: 1 },
      { cursor: 'c2', node: 2 },
      { cursor: 'c3', node: 3 },
    ]);
    expect(page.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: 'c1', endCursor: 'c3' });
    expect(page.totalCount).toBe(10);
  });

  it('with limit rows or fewer: the last page', () => {
    expect(forwardPage([1, 2, 3], 3, cursorOf, 3, true).pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: 'c1',
      endCursor: 'c3',
    });
    expect(forwardPage([7], 3, cursorOf, 8, true).pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: 'c7',
      endCursor: 'c7',
    });
  });

  it('an empty page has null cursors', () => {
    const page = forwardPage<number>([], 5, cursorOf, 0, false);
    expect(page.edges).toEqual([]);
    expect(page.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
  });

  it('a page of zero still says whether anything follows', () => {
    const page = forwardPage([1], 0, cursorOf, 4, false);
    expect(page.edges).toEqual([]);
    expect(page.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null });
  });

  it('computes each cursor from its own row', () => {
    const seen: number[] = [];
    forwardPage([5, 6, 7], 2, (n) => (seen.push(n), `c${n}`), 3, false);
    expect(seen).toEqual([5, 6]);
  });
});
