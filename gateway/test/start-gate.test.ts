import { MessageBudget, StartGate, type GateOutcome } from '../src/realtime/gate';

/** The bound on subscription starts running at once (see realtime.test.ts for churn end to end). */
describe('StartGate', () => {
  it('runs at most maxRunning starts at once, the rest in arrival order as slots free up', async () => {
    const gate = new StartGate(2, 10);
    const order: number[] = [];
    const outcomes = [1, 2, 3, 4].map((n) =>
      gate
        .acquire(() => true)
        .then((o) => {
          order.push(n);
          return o;
        }),
    );
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([1, 2]);
    expect(gate.load()).toEqual({ running: 2, waiting: 2 });
    gate.release();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([1, 2, 3]);
    gate.release();
    gate.release();
    gate.release();
    expect(await Promise.all(outcomes)).toEqual(['go', 'go', 'go', 'go']);
    expect(gate.load()).toEqual({ running: 0, waiting: 0 });
  });

  it('drops a waiting start whose client left, without taking a slot, and counts it', async () => {
    const dropped: string[] = [];
    const gate = new StartGate(1, 10, (r) => dropped.push(r));
    expect(await gate.acquire(() => true)).toBe('go');
    let alive = true;
    const leaving = gate.acquire(() => alive);
    const next = gate.acquire(() => true);
    alive = false;
    gate.release();
    expect(await leaving).toBe('gone');
    expect(await next).toBe('go');
    expect(gate.load()).toEqual({ running: 1, waiting: 0 });
    expect(await gate.acquire(() => false)).toBe('gone'); // already gone on arrival
    expect(dropped).toEqual(['gone', 'gone']);
  });

  it('refuses a start when too many are waiting', async () => {
    const dropped: string[] = [];
    const gate = new StartGate(1, 1, (r) => dropped.push(r));
    const first = await gate.acquire(() => true);
    const waiting = gate.acquire(() => true);
    const refused: GateOutcome = await gate.acquire(() => true);
    expect([first, refused]).toEqual(['go', 'full']);
    expect(dropped).toEqual(['full']);
    gate.release();
    expect(await waiting).toBe('go');
  });
});

describe('MessageBudget', () => {
  it('allows a burst, then the average rate, and says when to retry', () => {
    let t = 0;
    const budget = new MessageBudget(10, 3, () => t);
    expect([budget.take(), budget.take(), budget.take(), budget.take()]).toEqual([true, true, true, false]);
    expect(budget.retryAfter()).toBe(1);
    t += 100; // 0.1 s at 10/s: one more
    expect([budget.take(), budget.take()]).toEqual([true, false]);
    t += 60_000; // refills to the burst, never beyond
    expect([budget.take(), budget.take(), budget.take(), budget.take()]).toEqual([true, true, true, false]);
  });
});
