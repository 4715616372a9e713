import { parse, print } from 'graphql';
import { mergeOperations, splitResponse } from '../src/executor/batch';

const inStock =
  'query Q__inventory__1($representations:[_Any!]!){_entities(representations:$representations){...on Product{__typename inStock}}}';
const estimate =
  'query Q__inventory__2($representations:[_Any!]!,$unit:String){_entities(representations:$representations){...P}} fragment P on Product{__typename shippingEstimate(unit:$unit)}';

describe('merging entity fetches to one subgraph', () => {
  it('aliases each _entities, gives each its own representations variable and its own fragments', () => {
    const merged = mergeOperations([inStock, estimate, estimate], 'Q__inventory__1')!;
    expect(print(parse(merged))).toBe(
      print(
        parse(`query Q__inventory__1($r0: [_Any!]!, $r1: [_Any!]!, $unit: String, $r2: [_Any!]!) {
          _b0: _entities(representations: $r0) { ... on Product { __typename inStock } }
          _b1: _entities(representations: $r1) { ...P__b1 }
          _b2: _entities(representations: $r2) { ...P__b2 }
        }
        fragment P__b1 on Product { __typename shippingEstimate(unit: $unit) }
        fragment P__b2 on Product { __typename shippingEstimate(unit: $unit) }`),
      ),
    );
  });

  it('does not merge a root fetch, a mutation or an aliased field', () => {
    expect(mergeOperations([inStock, 'query { topProducts { upc } }'], undefined)).toBeNull();
    expect(
      mergeOperations(
        [inStock, 'mutation M($representations:[_Any!]!){_entities(representations:$representations){__typename}}'],
        undefined,
      ),
    ).toBeNull();
    expect(
      mergeOperations(
        [inStock, 'query($representations:[_Any!]!){x:_entities(representations:$representations){__typename}}'],
        undefined,
      ),
    ).toBeNull();
  });

  it('gives each fetch its own entities and the errors under its alias, at its own _entities path', () => {
    const shares = splitResponse(
      {
        data: { _b0: [{ inStock: true }], _b1: [null, { shippingEstimate: 1 }] },
        errors: [
          { message: 'no estimate', path: ['_b1', 0, 'shippingEstimate'], extensions: { code: 'X' } },
          { message: 'whole request' },
        ],
      },
      2,
    );
    expect(shares[0]).toEqual({ data: { _entities: [{ inStock: true }] }, errors: [{ message: 'whole request' }] });
    expect(shares[1]).toEqual({
      data: { _entities: [null, { shippingEstimate: 1 }] },
      errors: [
        { message: 'no estimate', path: ['_entities', 0, 'shippingEstimate'], extensions: { code: 'X' } },
        { message: 'whole request' },
      ],
    });
  });

  it('a failed request (no data) fails every fetch of the batch', () => {
    const shares = splitResponse({ data: null, errors: [{ message: 'down' }] }, 3);
    for (const s of shares) expect(s).toEqual({ data: null, errors: [{ message: 'down' }] });
  });
});
