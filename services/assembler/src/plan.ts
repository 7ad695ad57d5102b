import { MAX_MISSING_RANGES } from '@mqft/protocol';
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

/** Segments read from Redis per request while planning (docs/internals.md "Assembly"). */
export const PLAN_PAGE_SIZE = 1_000;

/**
 * The planning rule, one segment at a time in offset order: for every byte of [0, size), the
 * first segment that covers it. Segments may overlap (a device that changed its segment size
 * on resume) and may reach past the size (ignored, docs/protocol.md). Holds O(1) state.
 */
class CoverageWalk {
  constructor(
    readonly size: number,
    /** The first byte not covered yet. */
    public position = 0,
  ) {}

  /** Past the size: nothing after this segment matters (segments come in offset order). */
  isPast(segment: SegmentLocation): boolean {
    return segment.offset >= this.size;
  }

  /** The gap before `segment` (if any), and the piece it gives (if any). */
  take(segment: SegmentLocation): { gap?: [number, number]; piece?: PlanPiece } {
    const end = Math.min(segment.offset + segment.length, this.size);
    if (end <= this.position) return {};
    const gap: [number, number] | undefined =
      segment.offset > this.position ? [this.position, segment.offset] : undefined;
    const from = Math.max(segment.offset, this.position);
    const piece = { seq: segment.seq, segmentOffset: segment.offset, from, to: end };
    this.position = end;
    return gap ? { gap, piece } : { piece };
  }

  /** The missing tail, if any. */
  tail(): [number, number] | undefined {
    return this.position < this.size ? [this.position, this.size] : undefined;
  }
}

/**
 * The whole plan from segments held in memory (tests, small callers): orders them by offset,
 * then applies the planning rule. The assembler pages instead ({@link checkCoverage},
 * {@link plannedPieces}).
 */
export function planAssembly(segments: readonly SegmentLocation[], size: number): AssemblyPlan {
  const sorted = [...segments].sort((a, b) => a.offset - b.offset);
  const walk = new CoverageWalk(size);
  const pieces: PlanPiece[] = [];
  const missing: [number, number][] = [];
  for (const segment of sorted) {
    if (walk.isPast(segment)) break;
    const { gap, piece } = walk.take(segment);
    if (gap) missing.push(gap);
    if (piece) pieces.push(piece);
  }
  const tail = walk.tail();
  if (tail) missing.push(tail);
  return { pieces, missing };
}

/** What one page of segments adds to a contiguous prefix (see {@link extendPrefix}). */
export interface PrefixStep {
  /** The pieces of bytes [from, end), in file order. */
  pieces: PlanPiece[];
  /** The new contiguous end. */
  end: number;
  /** The offset of the last segment taken (the next page starts after it); undefined if none. */
  lastOffset: number | undefined;
}

/**
 * Extends the contiguous prefix [0, from) with a page of segments in offset order, by the
 * planning rule, stopping at the first gap or at `size` (Infinity when not known yet): the
 * progressive assembly's walk (scripts.claimProgress walks the same page in Lua; the two
 * must agree).
 */
export function extendPrefix(
  page: readonly SegmentLocation[],
  from: number,
  size: number,
): PrefixStep {
  const walk = new CoverageWalk(size, from);
  const pieces: PlanPiece[] = [];
  let lastOffset: number | undefined;
  for (const segment of page) {
    if (walk.isPast(segment) || segment.offset > walk.position) break;
    const { piece } = walk.take(segment);
    if (piece) pieces.push(piece);
    lastOffset = segment.offset;
  }
  return { pieces, end: walk.position, lastOffset };
}

/** Where the recorded segments of a transfer are read from, a page at a time, by offset. */
export interface SegmentIndex {
  segmentPage(key: string, after: number | undefined, limit: number): Promise<SegmentLocation[]>;
}

/** The recorded segments of `key` in offset order, read `pageSize` at a time. */
export async function* segmentsInOrder(
  index: SegmentIndex,
  key: string,
  pageSize = PLAN_PAGE_SIZE,
): AsyncGenerator<SegmentLocation> {
  let after: number | undefined;
  for (;;) {
    const page = await index.segmentPage(key, after, pageSize);
    yield* page;
    if (page.length < pageSize) return;
    after = (page[page.length - 1] as SegmentLocation).offset;
  }
}

/** What one pass over the segment index found. */
export interface Coverage {
  /** The first MAX_MISSING_RANGES missing ranges, by offset. */
  missing: [number, number][];
  /** More ranges are missing than `missing` lists. */
  missingMore: boolean;
  /** The highest stream sequence recorded (0 if none): the floor of a reset. */
  maxSeq: number;
}

/**
 * One pass over the index: whether [0, size) is covered, the first missing ranges, the highest
 * sequence. Memory: one page and at most MAX_MISSING_RANGES ranges, whatever the count.
 */
export async function checkCoverage(
  index: SegmentIndex,
  key: string,
  size: number,
  pageSize = PLAN_PAGE_SIZE,
): Promise<Coverage> {
  const walk = new CoverageWalk(size);
  const missing: [number, number][] = [];
  let missingMore = false;
  let maxSeq = 0;
  const note = (gap: [number, number] | undefined) => {
    if (!gap) return;
    if (missing.length < MAX_MISSING_RANGES) missing.push(gap);
    else missingMore = true;
  };
  for await (const segment of segmentsInOrder(index, key, pageSize)) {
    maxSeq = Math.max(maxSeq, segment.seq);
    if (walk.isPast(segment)) continue; // still read: its sequence counts for maxSeq
    note(walk.take(segment).gap);
  }
  note(walk.tail());
  return { missing, missingMore, maxSeq };
}

/** The segment index changed under an assembly so that a byte lost its segment (an abort). */
export class CoverageChangedError extends Error {
  override name = 'CoverageChangedError';
}

/**
 * The plan's pieces in file order, produced lazily from the index a page at a time (for
 * readPlannedBytes): memory independent of the segment count. A gap (checkCoverage found
 * none before; segments were dropped since) is a CoverageChangedError.
 */
export async function* plannedPieces(
  index: SegmentIndex,
  key: string,
  size: number,
  pageSize = PLAN_PAGE_SIZE,
): AsyncGenerator<PlanPiece> {
  const walk = new CoverageWalk(size);
  for await (const segment of segmentsInOrder(index, key, pageSize)) {
    if (walk.isPast(segment)) return;
    const { gap, piece } = walk.take(segment);
    if (gap) throw new CoverageChangedError(`bytes [${gap[0]}, ${gap[1]}) have no segment now`);
    if (piece) yield piece;
  }
  const tail = walk.tail();
  if (tail) throw new CoverageChangedError(`bytes [${tail[0]}, ${tail[1]}) have no segment now`);
}
