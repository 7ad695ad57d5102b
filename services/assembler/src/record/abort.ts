import { commandSubject, purgeSubject, type StreamCommand } from '@mqft/stream';
import type { AssemblerContext } from '../context.js';
import { replyToFin } from '../results.js';
import { recordCounted } from './quota.js';
import { answerable, type RecordOutcome, type StoredCommand } from './types.js';

/**
 * abort: drops the transfer's state, its segments in the stream and any unfinished upload
 * (EMQX's abort is a no-op; mqft's really cleans up). A complete transfer stays complete. An
 * abort of a transfer Redis does not know counts against the quota like any first command: its
 * 'aborted' record (which makes late commands ignored) holds the slot until it lapses
 * (MQFT_ORPHAN_TTL); over the quota it is answered 0x97 quota_exceeded and nothing is recorded.
 */
export async function recordAbort(
  ctx: AssemblerContext,
  command: StreamCommand,
  stored: StoredCommand,
): Promise<RecordOutcome> {
  const sender = answerable(command);
  if (!sender) return 'invalid';
  const { reply, id } = sender;
  const now = Date.now();
  const counted = await recordCounted(ctx, command.key, now, (create) =>
    ctx.store.recordAbort(command.key, {
      now,
      ttlMs: create ? ctx.config.orphanTtl : ctx.config.segmentsTtl,
      ...id,
      create,
    }),
  );
  if (!counted) {
    await ctx.sendResult(command.key, reply, { reason: 'quota_exceeded' });
    return 'quota_exceeded';
  }
  const { result, orphan } = counted;
  if (result.status === 'aborted') {
    // Everything before this abort goes; later commands of the transfer are refused anyway.
    await purgeSubject(
      ctx.jsm,
      ctx.config.stream,
      commandSubject(ctx.config.stream, command.key),
      stored.seq,
    );
    const record = await ctx.store.get(command.key);
    if (result.uploadId !== '' && record?.name !== undefined) {
      await ctx.storage.abortUnfinished({ ...id, name: record.name }, result.uploadId);
    }
    await Promise.all([
      // An orphan's slot lapses with its record (bounding what aborts alone can create).
      orphan ? undefined : ctx.quotas.release(command.key),
      ctx.due.unschedule(command.key),
      ctx.indexes.indexTransfer(command.key, now),
    ]);
    ctx.events.publish({ key: command.key, state: 'aborted' });
    await replyToFin(ctx, command.key, result.finReply, { reason: 'aborted' });
  }
  await ctx.sendResult(command.key, reply, { reason: 'success' });
  return result.status;
}
