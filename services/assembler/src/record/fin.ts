import { encodeReply, type StreamCommand } from '@mqft/stream';
import type { AssemblerContext } from '../context.js';
import { recordCounted } from './quota.js';
import { answerable, failedReason, type RecordOutcome, type StoredCommand } from './types.js';

/**
 * fin: records the request for assembly. It is answered later, by whichever assembler
 * finishes (or fails) the transfer; a fin for a complete transfer is answered at once, and
 * one for a transfer over its client's quota too (0x97 quota_exceeded, nothing recorded).
 */
export async function recordFin(
  ctx: AssemblerContext,
  command: StreamCommand,
  _stored: StoredCommand,
): Promise<RecordOutcome> {
  const sender = answerable(command);
  if (!sender || command.size === undefined) return 'invalid';
  const { reply, id } = sender;
  const now = Date.now();
  const size = command.size;
  const counted = await recordCounted(ctx, command.key, now, (create) =>
    ctx.store.recordFin(command.key, {
      size,
      ...(command.checksum !== undefined ? { checksum: command.checksum } : {}),
      reply: encodeReply(reply),
      now,
      ttlMs: ctx.config.orphanTtl,
      clientId: id.clientId,
      fileId: id.fileId,
      create,
    }),
  );
  if (!counted) {
    await ctx.sendResult(command.key, reply, { reason: 'quota_exceeded' });
    return 'quota_exceeded';
  }
  const { result } = counted;
  await ctx.indexes.indexTransfer(command.key, now);
  switch (result.status) {
    case 'complete':
      await ctx.sendResult(command.key, reply, { reason: 'success', location: result.location });
      return 'complete';
    case 'aborted':
      await ctx.sendResult(command.key, reply, { reason: 'aborted' });
      return 'aborted';
    case 'failed':
      // The transfer ended failed (docs/protocol.md "Failed transfers"): told again, why.
      await ctx.sendResult(command.key, reply, { reason: failedReason(result.reason) });
      return 'failed';
    case 'ready':
      // The watchdog entry hands the transfer to another assembler if this one dies; a look
      // due sooner (a failed attempt's back-off ending) stays.
      await ctx.due.scheduleCheckBy(command.key, now + ctx.config.leaseTtl);
      ctx.requestAssembly(command.key);
      return 'ready';
    case 'waiting':
      // From the FIRST fin: a device retransmitting fin (every result timeout while it hears
      // nothing) must not push the check back each time, or the grace never runs out and the
      // device never learns the missing ranges (a Redis failover losing segment records).
      await ctx.due.scheduleCheck(command.key, (result.finAt ?? now) + ctx.config.finGrace);
      return 'waiting';
    case 'assembling':
      return 'assembling';
  }
}
