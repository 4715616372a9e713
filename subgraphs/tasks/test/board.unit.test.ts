import { firstReserved, midpoint, MIN_GAP, POSITION_STEP } from '../src/task/board.order';

/** The board's fractional ordering without a store (board.test.ts runs the counter and rebalance against one). */
describe('midpoint', () => {
  it('is halfway between two neighbours', () => {
    expect(midpoint(1024, 2048)).toBe(1536);
    expect(midpoint(0, 1)).toBe(0.5);
    expect(midpoint(-3, 5)).toBe(1);
    expect(midpoint(-2048, -1024)).toBe(-1536);
  });

  it('keeps finding room by halving until the gap is under twice MIN_GAP', () => {
    let next = POSITION_STEP;
    let inserts = 0;
    for (;;) {
      const m = midpoint(0, next);
      if (m === null) break;
      expect(m).toBeGreaterThan(0);
      expect(m).toBeLessThan(next);
      next = m;
      inserts++;
    }
    // 1024 / 2^k >= 2e-6 holds up to k = 28 (1024 / 2^28 ≈ 3.8e-6; 2^29 gives ≈ 1.9e-6)
    expect(inserts).toBe(29);
    expect(next).toBe(POSITION_STEP / 2 ** 29);
  });

  it('signals a rebalance (null) for equal, too close or out-of-order neighbours', () => {
    expect(midpoint(5, 5)).toBeNull();
    expect(midpoint(5, 5 + MIN_GAP)).toBeNull();
    expect(midpoint(0, MIN_GAP * 2 - 1e-9)).toBeNull();
    expect(midpoint(7, 3)).toBeNull();
  });

  it('accepts a gap of exactly twice MIN_GAP', () => {
    expect(midpoint(0, MIN_GAP * 2)).toBe(MIN_GAP);
  });

  it('signals a rebalance when the halfway value cannot be told apart from a neighbour (large positions)', () => {
    // a client may place a task anywhere within ±1e12; at 2^34 neighbouring doubles are 2^-18 (≈ 3.8e-6)
    // apart, more than 2 * MIN_GAP, yet nothing lies between them: halfway rounds onto `after`
    const after = 2 ** 34;
    const next = after + 2 ** -18;
    expect(next - after).toBeGreaterThanOrEqual(MIN_GAP * 2);
    expect(midpoint(after, next)).toBeNull();
    expect(midpoint(-next, -after)).toBeNull();
    expect(midpoint(1e12, 1e12 + 2 ** -13)).toBeNull();
    // with one representable value between them, that value
    expect(midpoint(after, after + 2 ** -17)).toBe(after + 2 ** -18);
  });
});

describe('firstReserved', () => {
  it('is the end itself for one slot', () => {
    expect(firstReserved(POSITION_STEP, 1)).toBe(1024);
    expect(firstReserved(5000, 1)).toBe(5000);
  });

  it('starts a range one step after the previous end, whatever its size', () => {
    // `end` was 2048, a rebalance of 3 tasks raised it by 3 steps to 5120: slots 3072, 4096, 5120
    expect(firstReserved(2048 + 3 * POSITION_STEP, 3)).toBe(3072);
    for (const count of [1, 2, 10, 500]) {
      const previousEnd = 7777.5;
      expect(firstReserved(previousEnd + count * POSITION_STEP, count)).toBe(previousEnd + POSITION_STEP);
    }
  });
});
