import { encodeReply, type StreamCommand } from '@mqft/stream';
import type { AssemblerContext, AtFinReservation } from '../context.js';
import { LISTED_SEGMENTS } from '../segment-snapshot.js';
import { recordCounted } from './quota.js';
import { answerable, failedReason, type RecordOutcome, type StoredCommand } from './types.js';

/**
 * fin: records the request for assembly. It is answered later, by whichever assembler
 * finishes (or fails) the transfer; a fin for a complete transfer is answered at once, and
 * one for a transfer over its client's quota too (0x97 quota_exceeded, nothing recorded).
 * A small file's fin that makes it ready, with room for its assembly here, takes the lease in
 * the same script, which hands over the record and segment index: the assembly starts
 * without reading Redis again (docs/internals.md "Per small file").
 */
export async function recordFin(
  ctx: AssemblerContext,
  command: StreamCommand,
  stored: StoredCommand,
): Promise<RecordOutcome> {
  const sender = answerable(command);
  if (!sender || command.size === undefined) return 'invalid';
  const reservation = ctx.assemblyAtFin?.reserve(command.key, command.size);
  try {
    return await record(ctx, command, command.size, stored.seq, sender, reservation);
  } finally {
    // Nothing once the assembly runs (the fin leased the transfer).
    reservation?.cancel();
  }
}

async function record(
  ctx: AssemblerContext,
  command: StreamCommand,
  size: number,
  seq: number,
  { reply, id }: NonNullable<ReturnType<typeof answerable>>,
  reservation: AtFinReservation | undefined,
): Promise<RecordOutcome> {
  const now = Date.now();
  const { key } = command;
  const { config } = ctx;
  const counted = await recordCounted(ctx, key, now, (create) =>
    ctx.store.recordFin(key, {
      size,
      ...(command.checksum !== undefined ? { checksum: command.checksum } : {}),
      reply: encodeReply(reply),
      now,
      ttlMs: config.orphanTtl,
      clientId: id.clientId,
      fileId: id.fileId,
      create,
      ...(reservation
        ? {
            lease: {
              owner: ctx.owner,
              ttlMs: config.leaseTtl,
              listSegments: LISTED_SEGMENTS,
            },
          }
        : {}),
    }),
  );
  if (!counted) {
    await ctx.sendResult(key, reply, { reason: 'quota_exceeded' });
    return 'quota_exceeded';
  }
  const { result } = counted;
  if (result.status === 'leased') {
    if (!reservation) throw new Error(`${key}: leased at fin without a reservation`);
    try {
      if (!result.init) await ctx.indexes.indexTransfer(key, now);
      // The lease watchdog, written before the fin is acked: if this assembler dies holding
      // the lease, the due index hands the transfer to another (as after acquireLease).
      await ctx.due.scheduleCheck(key, now + 2 * config.leaseTtl);
    } finally {
      // Held now: the assembly runs (or hands the lease back when it fails) whatever comes.
      reservation.run({
        lease: result.lease,
        deaths: result.deaths,
        record: result.record,
        segments: result.segments,
        finSeq: seq,
      });
    }
    return 'ready';
  }
  // A transfer whose init was recorded was listed then (init's recorder, before its ack).
  if (!('init' in result) || !result.init) await ctx.indexes.indexTransfer(key, now);
  switch (result.status) {
    case 'complete':
      await ctx.sendResult(key, reply, { reason: 'success', location: result.location });
      return 'complete';
    case 'aborted':
      await ctx.sendResult(key, reply, { reason: 'aborted' });
      return 'aborted';
    case 'failed':
      // The transfer ended failed (docs/protocol.md "Failed transfers"): told again, why.
      await ctx.sendResult(key, reply, { reason: failedReason(result.reason) });
      return 'failed';
    case 'ready':
      // The watchdog entry hands the transfer to another assembler if this one dies; a look
      // due sooner (a failed attempt's back-off ending) stays.
      await ctx.due.scheduleCheckBy(key, now + config.leaseTtl);
      ctx.requestAssembly(key);
      return 'ready';
    case 'waiting':
      // From the FIRST fin: a device retransmitting fin (every result timeout while it hears
      // nothing) must not push the check back each time, or the grace never runs out and the
      // device never learns the missing ranges (a Redis failover losing segment records).
      await ctx.due.scheduleCheck(key, (result.finAt ?? now) + config.finGrace);
      return 'waiting';
    case 'assembling':
      // Its holder wrote the watchdog entry before its ack; a fin redelivered after a holder
      // died between leasing at fin and that write finds none, and writes it (never later
      // than one already there).
      await ctx.due.scheduleCheckBy(key, now + 2 * config.leaseTtl);
      return 'assembling';
  }
}
