import { commandSubject, purgeSubject, type StreamCommand } from '@mqft/stream';
import type { AssemblerContext } from '../context.js';
import { replyToFin } from '../results.js';
import { answerable, type RecordOutcome, type StoredCommand } from './types.js';

/**
 * abort: drops the transfer's state, its segments in the stream and any unfinished upload
 * (EMQX's abort is a no-op; mqft's really cleans up). A complete transfer stays complete.
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
  const result = await ctx.store.recordAbort(command.key, {
    now,
    ttlMs: ctx.config.segmentsTtl,
    ...id,
  });
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
      ctx.quotas.release(command.key),
      ctx.due.unschedule(command.key),
      ctx.indexes.indexTransfer(command.key, now),
    ]);
    ctx.events.publish({ key: command.key, state: 'aborted' });
    await replyToFin(ctx, command.key, result.finReply, { reason: 'aborted' });
  }
  await ctx.sendResult(command.key, reply, { reason: 'success' });
  return result.status;
}
