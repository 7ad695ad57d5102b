import { parseTransferKey, type ReasonDescription } from '@mqft/protocol';
import { StorageError, type FileUpload, type StoredFileTarget } from '@mqft/storage';
import { commandSubject, decodeReply, purgeSubject } from '@mqft/stream';
import type { Lease, TransferRecord } from '@mqft/state';
import type { AssemblerContext } from './context.js';
import { LeaseKeeper } from './lease.js';
import { planAssembly } from './plan.js';
import { readPlannedBytes, SegmentsLostError } from './segment-reader.js';

/** Direct gets in flight per assembly (ARCHITECTURE.md: 8 reached 151 MB/s here, far above what
 * one assembly writes; more only holds more message buffers in memory). */
const READ_WINDOW = 8;
/** How long to wait before retrying an assembly that storage or NATS failed. */
const RETRY_AFTER_MS = 3000;
/** A complete transfer's purge: attempts, 1 s apart (a NATS restart takes about that). */
const PURGE_ATTEMPTS = 15;
const PURGE_RETRY_MS = 1000;

export type AssemblyResult =
  | 'complete'
  | 'incomplete_waiting'
  | 'incomplete'
  | 'checksum_mismatch'
  | 'segments_lost'
  | 'lease_lost'
  | 'handed_over'
  | 'retry';

/**
 * Assembles a transfer whose lease this process holds: checks exact coverage, streams the
 * segments from the stream in offset order into storage while hashing, and makes the file
 * visible only when size and checksum match. Every exit releases or completes the lease.
 */
export async function assembleTransfer(
  ctx: AssemblerContext,
  lease: Lease,
  record: TransferRecord,
  shutdown: AbortSignal,
): Promise<AssemblyResult> {
  const log = ctx.logger.child({
    key: lease.key,
    clientId: record.clientId,
    fileId: record.fileId,
    token: lease.token,
  });
  const size = record.finSize ?? 0;
  const segments = await ctx.store.segments(lease.key);
  const plan = planAssembly(segments, size);
  const purgeBelow = segments.reduce((max, s) => Math.max(max, s.seq), 0) + 1;
  if (plan.missing.length > 0) return settleIncomplete(ctx, lease, record, plan.missing);

  const keeper = new LeaseKeeper(ctx.store, lease, ctx.config.leaseTtl, (err) =>
    log.warn({ err }, 'lease renewal failed'),
  );
  const target = storedFileTarget(record);
  let upload: FileUpload | undefined;
  const started = performance.now();
  try {
    await ctx.storage.abortUnfinished(target, record.uploadId, size);
    upload = await ctx.storage.begin(target, { size });
    // A one-request upload (small file on S3) leaves nothing for a successor to abort.
    if (upload.uploadId !== '') await ctx.store.recordUpload(lease, upload.uploadId);
    const subject = commandSubject(ctx.config.stream, lease.key);
    for await (const bytes of readPlannedBytes({
      jsm: ctx.jsm,
      stream: ctx.config.stream,
      subject,
      pieces: plan.pieces,
      window: READ_WINDOW,
      signal: AbortSignal.any([keeper.signal, shutdown]),
    })) {
      await upload.write(bytes);
    }
    // The storage backend hashed the bytes as they went by.
    const { sha256 } = upload.written();
    if (record.expectedChecksum !== undefined && record.expectedChecksum.toLowerCase() !== sha256) {
      await upload.abort();
      log.warn({ expected: record.expectedChecksum, actual: sha256 }, 'file checksum mismatch');
      return failAndReset(ctx, lease, 'checksum_mismatch', purgeBelow);
    }
    if (!(await keeper.renew())) throw keeper.signal.reason;
    const done = await upload.complete({ size, sha256 });
    const completed = await ctx.store.complete(lease, {
      location: done.location,
      size,
      checksum: sha256,
      now: Date.now(),
    });
    if (completed.status === 'lost') {
      log.warn('lease lost after the upload completed; the successor writes the same object');
      return 'lease_lost';
    }
    ctx.metrics.assemblySeconds.observe((performance.now() - started) / 1000);
    ctx.metrics.assembledBytes.inc(size);
    log.info(
      { size, sha256, location: done.location, ms: Math.round(performance.now() - started) },
      'transfer complete',
    );
    await finishComplete(
      ctx,
      lease.key,
      completed.finReply,
      done.location,
      segments.map((s) => s.seq),
    );
    return 'complete';
  } catch (err) {
    await upload
      ?.abort()
      .catch((abortErr: unknown) => log.warn({ err: abortErr }, 'upload abort failed'));
    if (keeper.signal.aborted) {
      log.warn('assembly stopped: lease lost');
      return 'lease_lost';
    }
    if (shutdown.aborted) {
      // Stopping (SIGTERM): not a failure; another replica takes the transfer at once.
      log.info('assembly handed back: shutting down');
      await ctx.store.release(lease, { mode: 'wait', reason: 'handed_over', now: Date.now() });
      await ctx.store.scheduleCheck(lease.key, Date.now());
      return 'handed_over';
    }
    if (err instanceof SegmentsLostError) {
      log.error({ err }, 'segments lost');
      return failAndReset(ctx, lease, 'segments_lost', purgeBelow);
    }
    ctx.metrics.storageErrors.inc({ operation: err instanceof StorageError ? 'storage' : 'other' });
    log.error({ err }, 'assembly failed; will retry');
    await ctx.store.release(lease, { mode: 'wait', reason: 'unavailable', now: Date.now() });
    await ctx.store.scheduleCheck(lease.key, Date.now() + RETRY_AFTER_MS);
    return 'retry';
  } finally {
    keeper.stop();
  }
}

export function storedFileTarget(record: TransferRecord): StoredFileTarget {
  return {
    clientId: record.clientId,
    fileId: record.fileId,
    name: record.name ?? '',
    filemetaJson: record.filemeta ?? '{}',
  };
}

async function finishComplete(
  ctx: AssemblerContext,
  key: string,
  finReply: string,
  location: string,
  seqs: number[],
): Promise<void> {
  ctx.events.publish({ key, state: 'complete', location });
  await replyToFin(ctx, key, finReply, { reason: 'success', location });
  // The file is safe in storage: the quota slot frees, and the segments may go. Deleting them
  // one by one (see purgeSubject) takes a while for a large file, so it runs in the
  // background; the lease watchdog (still scheduled until it is done) covers a crash.
  await ctx.store.releaseQuota(key);
  const purge = purgeCompleted(ctx, key, seqs)
    .then(() => ctx.store.unschedule(key))
    .catch((err: unknown) => ctx.logger.warn({ err, key }, 'purge after completion failed'))
    .finally(() => purging.delete(purge));
  purging.add(purge);
}

/** Purges running in the background (finishComplete). */
const purging = new Set<Promise<void>>();

/** Resolves once the background purges started so far have ended (for shutdown). */
export async function purgesSettled(): Promise<void> {
  await Promise.allSettled([...purging]);
}

/**
 * The transfer is complete (and no longer leased), so nothing would purge its segments later:
 * a NATS outage here must not leave them in the stream until max_age (found by test/chaos,
 * nats-restart). Retried for a while; a failure after that is logged, not thrown.
 */
export async function purgeCompleted(
  ctx: AssemblerContext,
  key: string,
  seqs: number[] = [],
): Promise<void> {
  const subject = commandSubject(ctx.config.stream, key);
  for (let attempt = 1; ; attempt++) {
    try {
      await purgeSubject(ctx.jsm, ctx.config.stream, subject, undefined, seqs);
      rememberPurged(key);
      return;
    } catch (err) {
      if (attempt >= PURGE_ATTEMPTS) {
        ctx.logger.warn({ err, key }, 'segments of a complete transfer not purged');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, PURGE_RETRY_MS));
    }
  }
}

/**
 * Transfers this process purged lately. nats-server 2.9 keeps a file stream's deletes in
 * memory for a moment: killed (kill -9) within ~0.3 s after a purge, it comes back WITH the
 * deleted messages (found by test/chaos, nats-restart). So after a reconnect the recent
 * purges are done again (`repurgeRecent`).
 */
const recentlyPurged = new Map<string, number>();
const RECENT_PURGE_MS = 30_000;

function rememberPurged(key: string): void {
  const now = Date.now();
  recentlyPurged.delete(key);
  recentlyPurged.set(key, now);
  for (const [k, at] of recentlyPurged) {
    if (now - at <= RECENT_PURGE_MS) break;
    recentlyPurged.delete(k);
  }
}

/** Purges again what this process purged in the last 30 s: call it when NATS reconnects. */
export async function repurgeRecent(ctx: AssemblerContext): Promise<void> {
  const since = Date.now() - RECENT_PURGE_MS;
  for (const [key, at] of [...recentlyPurged]) {
    if (at >= since) await purgeCompleted(ctx, key);
  }
}

/** Gaps remain: wait within the fin grace, else answer the fin with the missing ranges. */
async function settleIncomplete(
  ctx: AssemblerContext,
  lease: Lease,
  record: TransferRecord,
  missing: [number, number][],
): Promise<AssemblyResult> {
  const deadline = (record.finAt ?? 0) + ctx.config.finGrace;
  const now = Date.now();
  if (now < deadline) {
    await ctx.store.release(lease, { mode: 'wait', reason: 'incomplete', now });
    await ctx.store.scheduleCheck(lease.key, deadline);
    return 'incomplete_waiting';
  }
  const released = await ctx.store.release(lease, {
    mode: 'fail_fin',
    reason: 'incomplete',
    now,
    missing,
  });
  if (released.status === 'released') {
    ctx.events.publish({ key: lease.key, state: 'receiving', reason: 'incomplete' });
    await replyToFin(ctx, lease.key, released.finReply, { reason: 'incomplete', missing });
  }
  await ctx.store.unschedule(lease.key);
  return 'incomplete';
}

/**
 * The whole file must be sent again: drop the segments and the fin, answer the device. Only
 * the messages this assembly knew are purged, and before the answer, so that a resend the
 * answer prompts is never purged.
 */
async function failAndReset(
  ctx: AssemblerContext,
  lease: Lease,
  reason: 'checksum_mismatch' | 'segments_lost',
  purgeBelow: number,
): Promise<AssemblyResult> {
  const released = await ctx.store.release(lease, { mode: 'reset', reason, now: Date.now() });
  if (released.status === 'released') {
    await purgeSubject(
      ctx.jsm,
      ctx.config.stream,
      commandSubject(ctx.config.stream, lease.key),
      purgeBelow,
    );
    ctx.events.publish({ key: lease.key, state: 'receiving', reason });
    await replyToFin(ctx, lease.key, released.finReply, { reason });
  }
  await ctx.store.unschedule(lease.key);
  return reason;
}

export async function replyToFin(
  ctx: AssemblerContext,
  key: string,
  finReply: string,
  result: { reason: ReasonDescription; missing?: [number, number][]; location?: string },
): Promise<void> {
  if (finReply === '' || !parseTransferKey(key)) return;
  await ctx.sendResult(key, decodeReply(finReply), result);
}
