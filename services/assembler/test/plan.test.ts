import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planAssembly } from '../src/plan.js';

const seg = (offset: number, length: number, seq = offset + 1) => ({ offset, length, seq });

describe('planAssembly', () => {
  it('takes contiguous segments in offset order', () => {
    const plan = planAssembly([seg(10, 10), seg(0, 10), seg(20, 5)], 25);
    expect(plan.missing).toEqual([]);
    expect(plan.pieces.map((p) => [p.from, p.to])).toEqual([
      [0, 10],
      [10, 20],
      [20, 25],
    ]);
  });

  it('reports gaps as half-open ranges, including a missing tail', () => {
    expect(planAssembly([seg(0, 10), seg(20, 10)], 40).missing).toEqual([
      [10, 20],
      [30, 40],
    ]);
    expect(planAssembly([], 5).missing).toEqual([[0, 5]]);
  });

  it('a zero-byte file needs nothing', () => {
    expect(planAssembly([], 0)).toEqual({ pieces: [], missing: [] });
  });

  it('uses only the uncovered part of an overlapping segment and ignores bytes past the size', () => {
    const plan = planAssembly([seg(0, 10), seg(5, 10), seg(15, 100)], 20);
    expect(plan.pieces).toEqual([
      { seq: 1, segmentOffset: 0, from: 0, to: 10 },
      { seq: 6, segmentOffset: 5, from: 10, to: 15 },
      { seq: 16, segmentOffset: 15, from: 15, to: 20 },
    ]);
  });

  it('covers exactly the bytes a naive byte map covers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(60), fc.integer({ min: 1, max: 20 }))),
        fc.nat(70),
        (raw, size) => {
          const unique = new Map(raw.map(([offset, length]) => [offset, seg(offset, length)]));
          const plan = planAssembly([...unique.values()], size);
          const covered = new Array<boolean>(size).fill(false);
          for (const s of unique.values())
            for (let i = s.offset; i < Math.min(size, s.offset + s.length); i++) covered[i] = true;
          const fromPlan = new Array<boolean>(size).fill(false);
          let last = 0;
          for (const p of plan.pieces) {
            expect(p.from).toBe(last === p.from ? last : p.from);
            expect(p.from).toBeGreaterThanOrEqual(last);
            for (let i = p.from; i < p.to; i++) fromPlan[i] = true;
            last = p.to;
          }
          expect(fromPlan).toEqual(covered);
          const gaps = plan.missing.reduce((n, [a, b]) => n + (b - a), 0);
          expect(gaps).toBe(covered.filter((c) => !c).length);
        },
      ),
    );
  });
});
