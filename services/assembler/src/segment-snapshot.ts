import type { SegmentLocation } from '@mqft/state';
import type { SegmentIndex } from './plan.js';

/**
 * Segments the script that takes a lease (recordFin, acquireLease) lists with it: a small
 * file's (at 64 KiB segments, 16 MiB). A transfer with more is read from Redis a page at a time.
 */
export const LISTED_SEGMENTS = 256;

/**
 * A transfer's segment index as the script that leased it listed it, in offset order (a small
 * file's, record/fin.ts): its assembly plans from memory instead of paging through Redis. The
 * listing is the lease's own snapshot: under the lease no copy it names is deleted (a later
 * copy of a segment leaves the earlier one for the purge at completion), and an abort takes
 * the lease, which the holder checks before the file becomes visible.
 */
export class ListedSegments implements SegmentIndex {
  constructor(private readonly segments: readonly SegmentLocation[]) {}

  segmentPage(_key: string, after: number | undefined, limit: number): Promise<SegmentLocation[]> {
    const from =
      after === undefined ? 0 : this.segments.findIndex((segment) => segment.offset > after);
    return Promise.resolve(from < 0 ? [] : this.segments.slice(from, from + limit));
  }
}
