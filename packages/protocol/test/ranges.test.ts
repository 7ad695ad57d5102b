import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isFullyCovered,
  missingByteCount,
  missingRanges,
  type ByteRange,
  type ByteSpan,
} from '../src/index.js';

const span = (offset: number, length: number): ByteSpan => ({ offset, length });

describe('missingRanges', () => {
  it.each<[string, ByteSpan[], number, ByteRange[]]>([
    ['an empty file needs nothing', [], 0, []],
    ['no segments: everything', [], 10, [[0, 10]]],
    ['one whole segment', [span(0, 10)], 10, []],
    ['three segments in order', [span(0, 4), span(4, 4), span(8, 2)], 10, []],
    ['three segments in any order', [span(8, 2), span(0, 4), span(4, 4)], 10, []],
    ['a gap in the middle', [span(0, 3), span(7, 3)], 10, [[3, 7]]],
    [
      'missing head and tail',
      [span(3, 4)],
      10,
      [
        [0, 3],
        [7, 10],
      ],
    ],
    ['overlaps', [span(0, 6), span(2, 2), span(4, 4)], 10, [[8, 10]]],
    ['repeats', [span(0, 5), span(0, 5), span(0, 5)], 10, [[5, 10]]],
    ['a segment past size', [span(0, 4), span(4, 100)], 10, []],
    ['a segment wholly past size', [span(0, 4), span(20, 5)], 10, [[4, 10]]],
    ['empty segments cover nothing', [span(0, 0), span(5, 0)], 10, [[0, 10]]],
    [
      'adjacent gaps stay separate',
      [span(1, 1), span(3, 1)],
      5,
      [
        [0, 1],
        [2, 3],
        [4, 5],
      ],
    ],
    ['a segment for a zero-size file', [span(0, 5)], 0, []],
  ])('%s', (_name, segments, size, expected) => {
    expect(missingRanges(segments, size)).toEqual(expected);
    expect(isFullyCovered(segments, size)).toBe(expected.length === 0);
  });

  it('takes any iterable, once', () => {
    function* segments() {
      yield span(5, 5);
      yield span(0, 2);
    }
    expect(missingRanges(segments(), 10)).toEqual([[2, 5]]);
  });

  it('handles 100k segments quickly (n log n)', () => {
    const segments = Array.from({ length: 100_000 }, (_, i) => span((99_999 - i) * 10, 10));
    segments.splice(500, 1); // drop the segment at (99_999 - 500) * 10
    const started = performance.now();
    expect(missingRanges(segments, 1_000_000)).toEqual([[994_990, 995_000]]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('counts missing bytes', () => {
    expect(
      missingByteCount([
        [0, 3],
        [7, 10],
      ]),
    ).toBe(6);
    expect(missingByteCount([])).toBe(0);
  });
});

/** The obvious model: a flag per byte. */
function naiveMissing(segments: ByteSpan[], size: number): ByteRange[] {
  const covered = new Array<boolean>(size).fill(false);
  for (const { offset, length } of segments) {
    for (let i = offset; i < offset + length && i < size; i++) covered[i] = true;
  }
  const gaps: ByteRange[] = [];
  for (let i = 0; i < size; i++) {
    if (covered[i]) continue;
    const last = gaps.at(-1);
    if (last !== undefined && last[1] === i) last[1] = i + 1;
    else gaps.push([i, i + 1]);
  }
  return gaps;
}

describe('missingRanges, property', () => {
  it('agrees with a byte-array model for small sizes', () => {
    const segment = fc.record({ offset: fc.nat(70), length: fc.nat(20) });
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 12 }), fc.nat(64), (segments, size) => {
        expect(missingRanges(segments, size)).toEqual(naiveMissing(segments, size));
      }),
      { numRuns: 2000 },
    );
  });
});
