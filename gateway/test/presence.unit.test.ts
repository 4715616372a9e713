import { PresenceKeeper } from '../src/realtime/presence';

/** Heartbeats sent, as `<project> on|off <sender>`. */
function recorder() {
  const sent: string[] = [];
  const as =
    (who: string) =>
    (projectId: string, online: boolean): Promise<unknown> => {
      sent.push(`${projectId} ${online ? 'on' : 'off'} ${who}`);
      return Promise.resolve();
    };
  return { sent, as };
}

describe('PresenceKeeper', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('one online and one loop per user and project, however many watchers; offline when the last one leaves', () => {
    const keeper = new PresenceKeeper(20_000, 0, () => 0);
    const { sent, as } = recorder();
    const a = keeper.join('u1', 'p1', as('a'));
    const b = keeper.join('u1', 'p1', as('b'));
    keeper.join('u2', 'p1', as('c'));
    expect(sent).toEqual(['p1 on a', 'p1 on c']);
    jest.advanceTimersByTime(20_000);
    // the loop sends with the latest watcher's connection
    expect(sent.slice(2).sort()).toEqual(['p1 on b', 'p1 on c']);
    a();
    a(); // a second call of the same leave counts once
    expect(sent).not.toContain('p1 off b');
    b();
    expect(sent[sent.length - 1]).toBe('p1 off b');
    expect(keeper.size).toBe(1);
  });

  it('back within the grace: nobody sees the user go offline, and the loop goes on', () => {
    const keeper = new PresenceKeeper(20_000, 2000, () => 0);
    const { sent, as } = recorder();
    const first = keeper.join('u1', 'p1', as('a'));
    first();
    jest.advanceTimersByTime(1500);
    expect(sent).toEqual(['p1 on a']);
    const again = keeper.join('u1', 'p1', as('b'));
    jest.advanceTimersByTime(5000);
    // neither an offline nor a second online: the reload was invisible
    expect(sent).toEqual(['p1 on a']);
    jest.advanceTimersByTime(15_000);
    expect(sent).toEqual(['p1 on a', 'p1 on b']);
    again();
    jest.advanceTimersByTime(1999);
    expect(sent).toEqual(['p1 on a', 'p1 on b']);
    jest.advanceTimersByTime(1);
    expect(sent).toEqual(['p1 on a', 'p1 on b', 'p1 off b']);
    expect(keeper.size).toBe(0);
    // gone for good: no heartbeat after the offline
    jest.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(3);
  });

  it('churn within the grace costs no presence writes', () => {
    const keeper = new PresenceKeeper(20_000, 2000, () => 0);
    const { sent, as } = recorder();
    for (let i = 0; i < 100; i++) {
      const leave = keeper.join('u1', 'p1', as(`s${i}`));
      jest.advanceTimersByTime(10);
      leave();
    }
    expect(sent).toEqual(['p1 on s0']);
    jest.advanceTimersByTime(2000);
    expect(sent).toEqual(['p1 on s0', 'p1 off s99']);
  });

  it('spreads the loops of users who joined together over the interval, never a gap longer than it', () => {
    const offsets = [0.5, 0.75, 0];
    const keeper = new PresenceKeeper(20_000, 0, () => offsets.shift()!);
    const times: Record<string, number[]> = { a: [], b: [], c: [] };
    let now = 0;
    for (const who of ['a', 'b', 'c'])
      keeper.join(`u-${who}`, 'p1', () => {
        times[who]!.push(now);
        return Promise.resolve();
      });
    while (now < 64_000) {
      now += 1000;
      jest.advanceTimersByTime(1000);
    }
    // the join's online at once, the first repeat after (1 − offset) of the interval, then every interval
    expect(times).toEqual({ a: [0, 10_000, 30_000, 50_000], b: [0, 5000, 25_000, 45_000], c: [0, 20_000, 40_000, 60_000] });
  });

  it('flush says offline at once for everyone, also those within their grace (the gateway stops)', async () => {
    const keeper = new PresenceKeeper(20_000, 2000, () => 0);
    const { sent, as } = recorder();
    keeper.join('u1', 'p1', as('a'))();
    keeper.join('u2', 'p2', as('b'));
    await keeper.flush();
    expect(sent.slice(2).sort()).toEqual(['p1 off a', 'p2 off b']);
    expect(keeper.size).toBe(0);
    jest.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(4);
  });
});
