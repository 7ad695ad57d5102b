import { deleteStreamMessage, type StreamCommand } from '@mqft/stream';
import type { AssemblerContext } from '../context.js';
import { publishFailed } from '../failure.js';
import { PROGRESSIVE_OFFER_EVERY_MS } from '../progressive.js';
import { replyToFin } from '../results.js';
import { recordCounted } from './quota.js';
import { failedReason, type RecordOutcome, type StoredCommand } from './types.js';

/**
 * seg: records where the bytes are (offset → stream sequence, length): O(log n) in Redis, the
 * bytes stay in the stream. Ingest already answered the device when the segment was durable;
 * the assembler answers a segment only when the transfer failed (the segment past
 * MQFT_MAX_SEGMENTS_PER_TRANSFER, and every one after it). A segment of a transfer over its
 * client's quota is dropped (the device learns it from its init's or fin's answer, 0x97
 * quota_exceeded).
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
      length: stored.size,
      now,
      ttlMs: ctx.config.orphanTtl,
      create,
      maxSegments: ctx.config.maxSegmentsPerTransfer,
      progressiveMinBytes: ctx.progressive ? ctx.config.progressiveMinBytes : 0,
      progressiveEveryMs: PROGRESSIVE_OFFER_EVERY_MS,
    }),
  );
  if (!counted) return 'quota_exceeded';
  const recorded = counted.result;
  switch (recorded.status) {
    case 'too_many_segments':
      await failTooManySegments(ctx, command, recorded.finReply);
      return 'too_many_segments';
    case 'failed':
      // Every later segment of a failed transfer hears why (ingest said only "stored").
      if (command.reply)
        await ctx.sendResult(command.key, command.reply, {
          reason: failedReason(recorded.reason),
        });
      return 'ignored_failed';
    case 'aborted':
      // The device may not know (an operator aborted it): its next segment tells it, and the
      // SDK stops sending the rest (docs/protocol.md "Results"). The consumer deletes it.
      if (command.reply) await ctx.sendResult(command.key, command.reply, { reason: 'aborted' });
      return 'ignored_aborted';
    case 'complete':
      // Segments of complete transfers are acknowledged and ignored (docs/protocol.md), and
      // the consumer deletes them.
      return 'ignored_complete';
    case 'duplicate':
      // The consumer deletes this copy.
      return 'duplicate';
    case 'ready':
    case 'recorded':
      if (recorded.superseded !== undefined)
        await deleteSuperseded(ctx, command.key, recorded.superseded);
      if (recorded.progressive === true) ctx.progressive?.offer(command.key);
      else ctx.progressive?.wake(command.key);
      if (recorded.status === 'ready') ctx.requestAssembly(command.key);
      return 'recorded';
  }
}

/**
 * A later copy (a device's or broker's retransmission, ingest's retried publish) replaced it:
 * nothing references the earlier one any more, and no assembly reads it (the transfer is
 * receiving). Deleted now, so duplicates never wait for the purge at completion.
 */
async function deleteSuperseded(ctx: AssemblerContext, key: string, seq: number): Promise<void> {
  await deleteStreamMessage(ctx.jsm, ctx.config.stream, seq).catch((err: unknown) =>
    ctx.logger.warn(
      { err, key, seq },
      'superseded segment not deleted; the purge at completion removes it',
    ),
  );
}

/**
 * recordSegment refused a new offset past MQFT_MAX_SEGMENTS_PER_TRANSFER and marked the
 * transfer failed (its segment records dropped, in the same script). The device hears it at
 * once on this segment's result topic, and on a fin still waiting; the transfer's messages go
 * from the stream and its quota slot frees.
 */
async function failTooManySegments(
  ctx: AssemblerContext,
  command: StreamCommand,
  finReply: string,
): Promise<void> {
  const { key } = command;
  ctx.logger.warn(
    { key, offset: command.offset, maxSegments: ctx.config.maxSegmentsPerTransfer },
    'transfer failed: too many segments',
  );
  ctx.metrics.failedTransfers.inc({ cause: 'too_many_segments' });
  await publishFailed(ctx, key, 'too_many_segments', ctx.logger);
  if (command.reply) await ctx.sendResult(key, command.reply, { reason: 'too_many_segments' });
  await replyToFin(ctx, key, finReply, { reason: 'too_many_segments' });
  ctx.purger.purgeInBackground(key, [], () => ctx.due.unschedule(key));
  await ctx.quotas.release(key);
}
