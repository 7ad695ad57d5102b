import { describe, expect, it } from 'vitest';
import { RangeSet, chunksOf } from '../src/ranges.js';

describe('RangeSet', () => {
  it('merges overlapping and touching ranges in any order', () => {
    const set = new RangeSet();
    set.add(10, 20);
    set.add(0, 5);
    set.add(5, 10);
    set.add(30, 40);
    set.add(35, 45);
    expect(set.toJSON()).toEqual([
      [0, 20],
      [30, 45],
    ]);
    expect(set.size).toBe(35);
  });

  it('ignores empty ranges and reports gaps within a size', () => {
    const set = new RangeSet([
      [4, 4],
      [2, 6],
      [8, 12],
    ]);
    expect(set.gaps(10)).toEqual([
      [0, 2],
      [6, 8],
    ]);
    expect(set.gaps(20)).toEqual([
      [0, 2],
      [6, 8],
      [12, 20],
    ]);
    expect(new RangeSet().gaps(0)).toEqual([]);
    expect(set.covers(3, 6)).toBe(true);
    expect(set.covers(5, 9)).toBe(false);
  });

  it('agrees with a byte map under random adds', () => {
    for (let round = 0; round < 50; round++) {
      const size = 200;
      const bytes = new Array<boolean>(size).fill(false);
      const set = new RangeSet();
      for (let i = 0; i < 20; i++) {
        const start = Math.floor(Math.random() * size);
        const end = Math.min(size, start + Math.floor(Math.random() * 30));
        set.add(start, end);
        for (let b = start; b < end; b++) bytes[b] = true;
      }
      expect(set.size).toBe(bytes.filter(Boolean).length);
      const missing = set.gaps(size).reduce((sum, [s, e]) => sum + e - s, 0);
      expect(missing).toBe(size - set.size);
    }
  });
});

describe('chunksOf', () => {
  it('cuts ranges at multiples of the segment size', () => {
    expect(chunksOf([[0, 25]], 10)).toEqual([
      { offset: 0, length: 10 },
      { offset: 10, length: 10 },
      { offset: 20, length: 5 },
    ]);
    expect(chunksOf([[7, 23]], 10)).toEqual([
      { offset: 7, length: 3 },
      { offset: 10, length: 10 },
      { offset: 20, length: 3 },
    ]);
    expect(chunksOf([], 10)).toEqual([]);
  });
});
