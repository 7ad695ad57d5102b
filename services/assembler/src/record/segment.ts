import { deleteStreamMessage, type StreamCommand } from '@mqft/stream';
import type { AssemblerContext } from '../context.js';
import { recordCounted } from './quota.js';
import type { RecordOutcome, StoredCommand } from './types.js';

/**
 * seg: records where the bytes are (offset → stream sequence, length): O(1) in Redis, the
 * bytes stay in the stream. Ingest already answered the device when the segment was durable.
 * A segment of a transfer over its client's quota is dropped (the device learns it from its
 * init's or fin's answer, 0x97 quota_exceeded).
 */
export async function recordSegment(
  ctx: AssemblerContext,
  command: StreamCommand,
  stored: StoredCommand,
): Promise<RecordOutcome> {
  const now = Date.now();
  const counted = await recordCounted(ctx, command.key, now, (create) =>
    ctx.store.recordSegment(command.key, {
      offset: command.offset ?? 0,
      seq: stored.seq,
      length: stored.data.length,
      now,
      ttlMs: ctx.config.orphanTtl,
      create,
    }),
  );
  if (!counted) return 'quota_exceeded';
  const { status, superseded } = counted.result;
  if (superseded !== undefined) {
    // A later copy (a device's or broker's retransmission, ingest's retried publish) replaced
    // it: nothing references the earlier one any more, and no assembly reads it (the transfer
    // is receiving). Deleted now, so duplicates never wait for the purge at completion.
    await deleteStreamMessage(ctx.jsm, ctx.config.stream, superseded).catch((err: unknown) =>
      ctx.logger.warn(
        { err, key: command.key, seq: superseded },
        'superseded segment not deleted; the purge at completion removes it',
      ),
    );
  }
  if (status === 'ready') ctx.requestAssembly(command.key);
  // 'duplicate': the consumer deletes this copy. Segments of finished transfers are ignored
  // (docs/protocol.md: "acknowledged and ignored") and deleted too.
  if (status === 'duplicate') return 'duplicate';
  return status === 'ready' || status === 'recorded' ? 'recorded' : `ignored_${status}`;
}
