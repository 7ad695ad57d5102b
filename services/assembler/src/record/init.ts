import { canonicalFileMeta, clampSegmentsTtl, parseFileMeta, ProtocolError } from '@mqft/protocol';
import type { StreamCommand } from '@mqft/stream';
import type { AssemblerContext } from '../context.js';
import { answerable, type RecordOutcome, type StoredCommand } from './types.js';

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
  let meta;
  try {
    meta = parseFileMeta(stored.data, {
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
  const now = Date.now();
  const ttlMs = transferTtlMs(ctx, meta.segments_ttl);
  if (!(await ctx.quotas.admit(command.key, now, now + ttlMs, ctx.config.maxActiveTransfers))) {
    await ctx.sendResult(command.key, reply, { reason: 'quota_exceeded' });
    return 'quota_exceeded';
  }
  const result = await ctx.store.recordInit(command.key, {
    canonical: canonicalFileMeta(meta),
    filemetaJson: Buffer.from(stored.data).toString('utf8'),
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

/** init's segments_ttl, clamped to the protocol's bounds and to the stream's max age. */
function transferTtlMs(ctx: AssemblerContext, segmentsTtlSeconds: number | undefined): number {
  if (segmentsTtlSeconds === undefined) return ctx.config.segmentsTtl;
  return Math.min(clampSegmentsTtl(segmentsTtlSeconds) * 1000, ctx.config.segmentsTtl);
}
