import { canonicalFileMeta, clampSegmentsTtl, parseFileMeta, ProtocolError } from '@mqft/protocol';
import { deleteStreamMessage, type StreamCommand } from '@mqft/stream';
import type { AssemblerContext } from '../context.js';
import { answerable, failedReason, type RecordOutcome, type StoredCommand } from './types.js';

/**
 * init: admits the transfer against its client's quota, then merges the metadata. A repeated
 * init with the same metadata is a resume (success again); different metadata is a conflict.
 */
export async function recordInit(
  ctx: AssemblerContext,
  command: StreamCommand,
  stored: StoredCommand,
): Promise<RecordOutcome> {
  const sender = answerable(command);
  if (!sender) return 'invalid';
  const { reply, id } = sender;
  const filemeta = await stored.body();
  let meta;
  try {
    meta = parseFileMeta(filemeta, {
      maxFileSize: ctx.config.maxFileSize,
      maxBytes: ctx.config.maxFilemetaBytes,
      maxDepth: ctx.config.maxFilemetaDepth,
    });
  } catch (err) {
    // A refusal carries the reason of the refusal ('success' is none).
    if (!(err instanceof ProtocolError) || err.reason === 'success') throw err;
    await ctx.sendResult(command.key, reply, { reason: err.reason });
    return err.reason;
  }
  // A key this storage can never hold (a component over NAME_MAX, an S3 key over 1,024 bytes):
  // refused now, not at fin, where it would fail on every retry.
  const keyProblem = ctx.storage.keyProblem({ ...id, name: meta.name });
  if (keyProblem !== undefined) {
    ctx.logger.warn(
      { key: command.key, ...id, problem: keyProblem },
      'init refused: unstorable key',
    );
    await ctx.sendResult(command.key, reply, { reason: 'invalid_fileid' });
    return 'invalid_fileid';
  }
  if (await shedNewTransfer(ctx, command.key, stored.seq)) {
    await ctx.sendResult(command.key, reply, { reason: 'busy' });
    return 'busy';
  }
  const now = Date.now();
  const ttlMs = transferTtlMs(ctx, meta.segments_ttl);
  if (!(await ctx.quotas.admit(command.key, now, now + ttlMs, ctx.config.maxActiveTransfers))) {
    await ctx.sendResult(command.key, reply, { reason: 'quota_exceeded' });
    return 'quota_exceeded';
  }
  const result = await ctx.store.recordInit(command.key, {
    canonical: canonicalFileMeta(meta),
    filemetaJson: Buffer.from(filemeta).toString('utf8'),
    name: meta.name,
    clientId: id.clientId,
    fileId: id.fileId,
    now,
    ttlMs,
    ...(meta.size !== undefined ? { declaredSize: meta.size } : {}),
    ...(meta.checksum !== undefined ? { checksum: meta.checksum.toLowerCase() } : {}),
  });
  await ctx.indexes.indexTransfer(command.key, now);
  switch (result.status) {
    case 'conflict':
      await ctx.sendResult(command.key, reply, { reason: 'filemeta_conflict' });
      return 'filemeta_conflict';
    case 'aborted':
      await ctx.quotas.release(command.key);
      await ctx.sendResult(command.key, reply, { reason: 'aborted' });
      return 'aborted';
    case 'failed':
      // The transfer ended failed: it stays so (a new upload takes a new fileId), and the
      // quota slot admit() just took goes again.
      await ctx.quotas.release(command.key);
      await ctx.sendResult(command.key, reply, { reason: failedReason(result.reason) });
      return 'failed';
    case 'complete':
      // A late copy (the device's retransmission, or ingest's publish retried through a stream
      // leader change) of the init of a finished transfer: success again, and the outcome
      // 'complete' has the consumer delete it from the stream (nothing purges it any more),
      // and the quota slot that admit() just took back goes again.
      await ctx.quotas.release(command.key);
      await ctx.sendResult(command.key, reply, { reason: 'success' });
      return 'complete';
    default:
      if (result.status === 'created') ctx.events.publish({ key: command.key, state: 'receiving' });
      if (result.ready) ctx.requestAssembly(command.key);
      await ctx.sendResult(command.key, reply, { reason: 'success' });
      return result.status === 'created' ? 'created' : 'resumed';
  }
}

/**
 * While the cluster is behind (ctx.loadGate), an init of a transfer Redis does not know yet is
 * refused: its stream message is deleted (nothing references it, and a device retrying under
 * load would otherwise fill the stream with refused inits) and the device hears 0x97 busy.
 * An init of a known transfer (a resume, or one whose segments came first) goes on, so the
 * transfers already running keep the cluster's capacity.
 */
async function shedNewTransfer(ctx: AssemblerContext, key: string, seq: number): Promise<boolean> {
  const cause = ctx.loadGate?.behind();
  if (cause === undefined || (await ctx.store.get(key)) !== undefined) return false;
  await deleteStreamMessage(ctx.jsm, ctx.config.stream, seq);
  ctx.metrics.busy.inc({ cause });
  ctx.logger.debug({ key, cause }, 'init of a new transfer refused: cluster behind');
  return true;
}

/** init's segments_ttl, clamped to the protocol's bounds and to the stream's max age. */
function transferTtlMs(ctx: AssemblerContext, segmentsTtlSeconds: number | undefined): number {
  if (segmentsTtlSeconds === undefined) return ctx.config.segmentsTtl;
  return Math.min(clampSegmentsTtl(segmentsTtlSeconds) * 1000, ctx.config.segmentsTtl);
}
