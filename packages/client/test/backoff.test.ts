import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY } from '../src/options.js';

describe('backoffDelay', () => {
  it('doubles from backoffMs up to the cap, each delay drawn between half and all of it', () => {
    const retry = { ...DEFAULT_RETRY, backoffMs: 100, backoffCapMs: 1000 };
    const ceilings = [2, 3, 4, 5, 6, 9].map((attempt) => backoffDelay(retry, attempt, () => 1));
    expect(ceilings).toEqual([100, 200, 400, 800, 1000, 1000]);
    const floors = [2, 3, 4, 5, 6, 9].map((attempt) => backoffDelay(retry, attempt, () => 0));
    expect(floors).toEqual([50, 100, 200, 400, 500, 500]);
  });

  it('spreads devices told to wait at the same moment', () => {
    const delays = new Set(
      Array.from({ length: 50 }, () => backoffDelay({ ...DEFAULT_RETRY, backoffMs: 1000 }, 3)),
    );
    expect(delays.size).toBeGreaterThan(10);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(1000);
      expect(delay).toBeLessThanOrEqual(2000);
    }
  });
});
