import { retryDelay } from '../src/infra/backoff';

describe('retryDelay', () => {
  it.each([
    [1, 100],
    [2, 200],
    [5, 500],
    [30, 3000],
    [31, 3000],
    [100, 3000],
  ])('attempt %i waits %i ms', (attempt, ms) => {
    expect(retryDelay(attempt)).toBe(ms);
  });

  it('never waits less than 100 ms or more than 3000 ms', () => {
    for (let attempt = -5; attempt <= 10_000; attempt++) {
      const d = retryDelay(attempt);
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(3000);
    }
    expect(retryDelay(Number.MAX_SAFE_INTEGER)).toBe(3000);
  });

  it('does not decrease as attempts grow', () => {
    let prev = 0;
    for (let attempt = 1; attempt <= 50; attempt++) {
      expect(retryDelay(attempt)).toBeGreaterThanOrEqual(prev);
      prev = retryDelay(attempt);
    }
  });
});
