import { EventMemo } from '../src/realtime/memo';

describe('EventMemo', () => {
  it('shares one computation per key while it is fresh', async () => {
    const memo = new EventMemo<number>(10_000);
    let computed = 0;
    const compute = () => Promise.resolve(++computed);
    const a = memo.get('e1', compute);
    const b = memo.get('e1', compute);
    expect(a).toBe(b);
    expect(await memo.get('e2', compute)).toBe(2);
    expect(computed).toBe(2);
  });

  it('computes again once the entry is older than its time to live', async () => {
    const memo = new EventMemo<number>(30);
    let computed = 0;
    const compute = () => Promise.resolve(++computed);
    await memo.get('e', compute);
    const until = Date.now() + 40;
    while (Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await memo.get('e', compute);
    expect(computed).toBe(2);
  });

  it('stays bounded: a full generation is dropped whole, and entries of the previous one still answer', async () => {
    const memo = new EventMemo<number>(60_000, 3);
    let computed = 0;
    const compute = () => Promise.resolve(++computed);
    for (const k of ['a', 'b', 'c']) await memo.get(k, compute);
    // the fourth key rotates the full generation: 'a' still answers from the previous one
    await memo.get('d', compute);
    await memo.get('a', compute);
    expect(computed).toBe(4);
    for (const k of ['e', 'f']) await memo.get(k, compute);
    // another rotation: the generation holding a, b, c is gone
    await memo.get('b', compute);
    expect(computed).toBe(7);
  });
});
