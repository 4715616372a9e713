import { Slicer } from '../src/realtime/slicer';

const turn = () => new Promise<void>((r) => setImmediate(r));
/** Keeps the CPU busy for `ms` (a write that takes long). */
const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('Slicer: deliveries share the event loop', () => {
  it('runs queued writes in order on a later turn, never in the caller’s', async () => {
    const errors: unknown[] = [];
    const slicer = new Slicer((e) => errors.push(e));
    const ran: number[] = [];
    for (let i = 0; i < 5; i++) slicer.run(() => ran.push(i));
    expect(ran).toEqual([]);
    await turn();
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    expect(errors).toEqual([]);
  });

  it('stops a turn once it has run its slice and goes on in the next turns, in order', async () => {
    const slicer = new Slicer(() => undefined, 5);
    const ran: number[] = [];
    for (let i = 0; i < 6; i++)
      slicer.run(() => {
        busy(3);
        ran.push(i);
      });
    await turn();
    // 3 ms each, 5 ms a slice: at most two per turn (one, if the machine preempted us meanwhile)
    expect(ran.length).toBeGreaterThanOrEqual(1);
    expect(ran.length).toBeLessThanOrEqual(2);
    for (let guard = 0; ran.length < 6 && guard < 20; guard++) await turn();
    expect(ran).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a failing write is reported and the rest still run', async () => {
    const errors: unknown[] = [];
    const slicer = new Slicer((e) => errors.push(e));
    const ran: string[] = [];
    slicer.run(() => ran.push('a'));
    slicer.run(() => {
      throw new Error('socket gone');
    });
    slicer.run(() => ran.push('c'));
    await turn();
    expect(ran).toEqual(['a', 'c']);
    expect(errors).toHaveLength(1);
  });
});

describe('Slicer.runEach: one event’s deliveries as a list', () => {
  it('may cut a list between items, keeps order with what was queued before and after', async () => {
    const slicer = new Slicer(() => undefined, 5);
    const ran: string[] = [];
    slicer.run(() => ran.push('before'));
    slicer.runEach([1, 2, 3, 4, 5], (i) => {
      busy(2);
      ran.push(`item${i}`);
    });
    slicer.run(() => ran.push('after'));
    slicer.runEach([], () => ran.push('never'));
    await turn();
    // 2 ms per item, 5 ms a slice: the list is cut (at most three items in the first turn)
    expect(ran.length).toBeLessThan(5);
    for (let guard = 0; ran.length < 7 && guard < 20; guard++) await turn();
    expect(ran).toEqual(['before', 'item1', 'item2', 'item3', 'item4', 'item5', 'after']);
  });

  it('an item that throws is reported and the list goes on', async () => {
    const errors: unknown[] = [];
    const slicer = new Slicer((e) => errors.push(e));
    const ran: number[] = [];
    slicer.runEach([1, 2, 3], (i) => {
      if (i === 2) throw new Error('socket gone');
      ran.push(i);
    });
    await turn();
    expect(ran).toEqual([1, 3]);
    expect(errors).toHaveLength(1);
  });
});
