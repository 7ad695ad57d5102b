/** A half-open byte range `[start, end)`, as the protocol writes `missing`. */
export type Range = [number, number];

/**
 * A set of byte ranges kept sorted and merged: what the cluster confirmed so far. Adding is
 * O(n) in the number of disjoint ranges, which stays small (confirmations mostly extend the
 * one range that grows from the start of the file).
 */
export class RangeSet {
  private ranges: Range[] = [];

  constructor(initial: Iterable<Range> = []) {
    for (const [start, end] of initial) this.add(start, end);
  }

  /** Adds `[start, end)`; empty or inverted ranges are ignored. */
  add(start: number, end: number): void {
    if (!(end > start)) return;
    const merged: Range[] = [];
    let lo = start;
    let hi = end;
    let placed = false;
    for (const range of this.ranges) {
      if (range[1] < lo) merged.push(range);
      else if (range[0] > hi) {
        if (!placed) merged.push([lo, hi]);
        placed = true;
        merged.push(range);
      } else {
        lo = Math.min(lo, range[0]);
        hi = Math.max(hi, range[1]);
      }
    }
    if (!placed) merged.push([lo, hi]);
    this.ranges = merged;
  }

  /** Whether every byte of `[start, end)` is in the set. */
  covers(start: number, end: number): boolean {
    if (!(end > start)) return true;
    return this.ranges.some(([s, e]) => s <= start && e >= end);
  }

  /** Bytes in the set. */
  get size(): number {
    return this.ranges.reduce((sum, [s, e]) => sum + (e - s), 0);
  }

  /** The gaps in `[0, total)`, sorted. */
  gaps(total: number): Range[] {
    const gaps: Range[] = [];
    let covered = 0;
    for (const [s, e] of this.ranges) {
      if (s >= total) break;
      if (s > covered) gaps.push([covered, s]);
      covered = Math.max(covered, e);
    }
    if (covered < total) gaps.push([covered, total]);
    return gaps;
  }

  toJSON(): Range[] {
    return this.ranges.map(([s, e]) => [s, e]);
  }
}

/** A piece of the file to send as one segment. */
export interface Chunk {
  offset: number;
  length: number;
}

/**
 * Cuts ranges into segments of at most `segmentSize` bytes, aligned to multiples of
 * `segmentSize` where the range allows it, so a resent range reuses the offsets (and
 * replaces the segments) of the first attempt instead of overlapping them.
 */
export function chunksOf(ranges: readonly Range[], segmentSize: number): Chunk[] {
  const chunks: Chunk[] = [];
  for (const [start, end] of ranges) {
    let offset = start;
    while (offset < end) {
      const boundary = (Math.floor(offset / segmentSize) + 1) * segmentSize;
      const next = Math.min(end, boundary);
      chunks.push({ offset, length: next - offset });
      offset = next;
    }
  }
  return chunks;
}
