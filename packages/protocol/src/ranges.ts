/** A stretch of bytes a segment covers. */
export interface ByteSpan {
  offset: number;
  length: number;
}

/** A half-open byte range `[start, end)`. */
export type ByteRange = [number, number];

/**
 * The gaps in `[0, size)` that no segment covers, as sorted half-open ranges: what a fin
 * reports as `missing`, and (when empty) what tells the assembler the file is whole.
 * Segments may come in any order, overlap, repeat or reach past `size`. O(n log n).
 */
export function missingRanges(segments: Iterable<ByteSpan>, size: number): ByteRange[] {
  const spans = clippedSpans(segments, size).sort((a, b) => a[0] - b[0]);
  const missing: ByteRange[] = [];
  let covered = 0; // every byte below this is covered
  for (const [start, end] of spans) {
    if (start > covered) missing.push([covered, start]);
    if (end > covered) covered = end;
  }
  if (covered < size) missing.push([covered, size]);
  return missing;
}

/** True when every byte of `[0, size)` is covered. */
export function isFullyCovered(segments: Iterable<ByteSpan>, size: number): boolean {
  return missingRanges(segments, size).length === 0;
}

/** Total number of missing bytes, for progress reports. */
export function missingByteCount(ranges: readonly ByteRange[]): number {
  return ranges.reduce((sum, [start, end]) => sum + (end - start), 0);
}

function clippedSpans(segments: Iterable<ByteSpan>, size: number): ByteRange[] {
  const spans: ByteRange[] = [];
  for (const { offset, length } of segments) {
    const start = Math.max(0, offset);
    const end = Math.min(size, offset + length);
    if (end > start) spans.push([start, end]);
  }
  return spans;
}
