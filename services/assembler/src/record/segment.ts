import type { StreamCommand } from '@mqft/stream';
import type { AssemblerContext } from '../context.js';
import type { RecordOutcome, StoredCommand } from './types.js';

/**
 * seg: records where the bytes are (offset → stream sequence, length): O(1) in Redis, the
 * bytes stay in the stream. Ingest already answered the device when the segment was durable.
 */
export async function recordSegment(
  ctx: AssemblerContext,
  command: StreamCommand,
  stored: StoredCommand,
): Promise<RecordOutcome> {
  const status = await ctx.store.recordSegment(command.key, {
    offset: command.offset ?? 0,
    seq: stored.seq,
    length: stored.data.length,
    now: Date.now(),
    ttlMs: ctx.config.segmentsTtl,
  });
  if (status === 'ready') ctx.requestAssembly(command.key);
  // Segments of finished transfers are ignored (PROTOCOL.md: "acknowledged and ignored").
  return status === 'ready' || status === 'recorded' ? 'recorded' : `ignored_${status}`;
}
