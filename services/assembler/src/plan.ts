import type { SegmentLocation } from '@mqft/state';

/** Bytes [from, to) of the file come from the stream message `seq`, whose payload starts at `segmentOffset`. */
export interface PlanPiece {
  seq: number;
  segmentOffset: number;
  from: number;
  to: number;
}

export interface AssemblyPlan {
  pieces: PlanPiece[];
  missing: [number, number][];
}

/**
 * Orders the recorded segments by offset and takes, for every byte of [0, size), the first
 * segment that covers it. Segments may overlap (a device that changed its segment size on
 * resume) and may reach past the size (ignored, docs/protocol.md). O(n log n), once per assembly.
 */
export function planAssembly(segments: readonly SegmentLocation[], size: number): AssemblyPlan {
  const sorted = [...segments].sort((a, b) => a.offset - b.offset);
  const pieces: PlanPiece[] = [];
  const missing: [number, number][] = [];
  let position = 0;
  for (const segment of sorted) {
    if (segment.offset >= size) break;
    const end = Math.min(segment.offset + segment.length, size);
    if (end <= position) continue;
    if (segment.offset > position) missing.push([position, segment.offset]);
    const from = Math.max(segment.offset, position);
    pieces.push({ seq: segment.seq, segmentOffset: segment.offset, from, to: end });
    position = end;
  }
  if (position < size) missing.push([position, size]);
  return { pieces, missing };
}
