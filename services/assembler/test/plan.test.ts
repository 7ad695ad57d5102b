import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_MISSING_RANGES } from '@mqft/protocol';
import type { SegmentLocation } from '@mqft/state';
import {
  checkCoverage,
  CoverageChangedError,
  extendPrefix,
  planAssembly,
  plannedPieces,
  type SegmentIndex,
} from '../src/plan.js';

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

/** An in-memory segment index that counts its page requests (what Redis's ZRANGEBYSCORE does). */
class PagedIndex implements SegmentIndex {
  pages = 0;
  largestPage = 0;
  private readonly sorted: SegmentLocation[];

  constructor(segments: readonly SegmentLocation[]) {
    this.sorted = [...segments].sort((a, b) => a.offset - b.offset);
  }

  segmentPage(_key: string, after: number | undefined, limit: number) {
    this.pages++;
    const page = this.sorted.filter((s) => after === undefined || s.offset > after).slice(0, limit);
    this.largestPage = Math.max(this.largestPage, page.length);
    return Promise.resolve(page);
  }
}

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

describe('paged planning (checkCoverage, plannedPieces)', () => {
  it('gives the pieces and gaps of planAssembly, reading pages of at most the page size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(60), fc.integer({ min: 1, max: 20 }))),
        fc.nat(70),
        fc.integer({ min: 1, max: 4 }),
        async (raw, size, pageSize) => {
          const unique = [...new Map(raw.map(([o, l]) => [o, seg(o, l)])).values()];
          const whole = planAssembly(unique, size);
          const index = new PagedIndex(unique);
          const coverage = await checkCoverage(index, 'k', size, pageSize);
          expect(coverage.missing).toEqual(whole.missing);
          expect(coverage.missingMore).toBe(false);
          expect(coverage.maxSeq).toBe(unique.reduce((m, s) => Math.max(m, s.seq), 0));
          expect(index.largestPage).toBeLessThanOrEqual(pageSize);
          if (whole.missing.length === 0) {
            const pieces = await collect(plannedPieces(index, 'k', size, pageSize));
            expect(pieces).toEqual(whole.pieces);
          }
        },
      ),
    );
  });

  it('walks 10,000 segments in pages of 7 and never holds more than one page', async () => {
    const segments = Array.from({ length: 10_000 }, (_, i) => seg(i, 1));
    const index = new PagedIndex(segments);
    const pieces = await collect(plannedPieces(index, 'k', 10_000, 7));
    expect(pieces).toHaveLength(10_000);
    expect(index.pages).toBe(1_429); // 1,428 full pages and one of 4: the short page ends it
    expect(index.largestPage).toBe(7);
  });

  it('lists the first MAX_MISSING_RANGES gaps and says that more are missing', async () => {
    // 20,000 one-byte segments with a one-byte gap after each: 20,000 gaps.
    const segments = Array.from({ length: 20_000 }, (_, i) => seg(2 * i, 1));
    const coverage = await checkCoverage(new PagedIndex(segments), 'k', 40_000, 1_000);
    expect(coverage.missing).toHaveLength(MAX_MISSING_RANGES);
    expect(coverage.missing[0]).toEqual([1, 2]);
    expect(coverage.missing.at(-1)).toEqual([2 * MAX_MISSING_RANGES - 1, 2 * MAX_MISSING_RANGES]);
    expect(coverage.missingMore).toBe(true);
  });

  it('a gap that appears after the coverage check stops the pieces (CoverageChangedError)', async () => {
    const index = new PagedIndex([seg(0, 10), seg(20, 10)]);
    await expect(collect(plannedPieces(index, 'k', 30))).rejects.toBeInstanceOf(
      CoverageChangedError,
    );
  });
});

describe('extendPrefix (progressive assembly)', () => {
  it('stops at the first gap and says where the next page starts', () => {
    const step = extendPrefix([seg(0, 10), seg(10, 10), seg(30, 10)], 0, Infinity);
    expect(step.pieces.map((p) => [p.from, p.to])).toEqual([
      [0, 10],
      [10, 20],
    ]);
    expect(step).toMatchObject({ end: 20, lastOffset: 10 });
  });

  it('cuts at a known size and takes overlaps by the planning rule', () => {
    const step = extendPrefix([seg(0, 10), seg(5, 10), seg(12, 10)], 0, 18);
    expect(step.pieces.map((p) => [p.from, p.to])).toEqual([
      [0, 10],
      [10, 15],
      [15, 18],
    ]);
    expect(step.end).toBe(18);
  });

  it('page by page, gives the plan of the contiguous prefix', () => {
    const segments = fc.uniqueArray(
      fc.record({
        offset: fc.integer({ min: 0, max: 200 }),
        length: fc.integer({ min: 1, max: 40 }),
      }),
      { selector: (s) => s.offset, maxLength: 30 },
    );
    fc.assert(
      fc.property(
        segments,
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 250 }),
        (raw, pageSize, size) => {
          const sorted = raw
            .map((s, i) => seg(s.offset, s.length, i + 1))
            .sort((a, b) => a.offset - b.offset);
          const plan = planAssembly(sorted, size);
          const prefixEnd = plan.missing[0]?.[0] ?? size;
          const expected = plan.pieces.filter((p) => p.to <= prefixEnd);
          const pieces = [];
          let end = 0;
          let after: number | undefined;
          for (;;) {
            const page = sorted
              .filter((s) => after === undefined || s.offset > after)
              .slice(0, pageSize);
            const step = extendPrefix(page, end, size);
            pieces.push(...step.pieces);
            end = step.end;
            if (step.lastOffset !== undefined) after = step.lastOffset;
            if (step.lastOffset === undefined || page.length < pageSize) break;
          }
          expect(end).toBe(prefixEnd);
          expect(pieces).toEqual(expected);
        },
      ),
    );
  });
});
