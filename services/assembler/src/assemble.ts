import type { Logger } from '@mqft/config';
import { StorageError, type FileUpload } from '@mqft/storage';
import { commandSubject, purgeSubject } from '@mqft/stream';
import type { Lease, TransferRecord } from '@mqft/state';
import type { AssemblerContext } from './context.js';
import { failTransfer, permanentCause } from './failure.js';
import { LeaseKeeper } from './lease.js';
import type { AssemblyResult } from './metrics.js';
import {
  checkCoverage,
  CoverageChangedError,
  plannedPieces,
  type Coverage,
  type PlanPiece,
  type SegmentIndex,
} from './plan.js';
import { finishComplete, replyToFin } from './results.js';
import { readPlannedBytes, SegmentsLostError } from './segment-reader.js';
import { completeAlreadyStored, storedCompletion, storedFileTarget } from './stored-file.js';

/** Direct gets in flight per assembly (docs/design.md: 8 reached 151 MB/s here, far above what
 * one assembly writes; more only holds more message buffers in memory). */
export const READ_WINDOW = 8;
/**
 * Stream sequences an assembly remembers for the purge after completion (deleted without a
 * lookup); the purge walks the subject for the rest. 8 bytes each: 512 KiB at most.
 */
export const KNOWN_SEQS_LIMIT = 65_536;

export type { AssemblyResult } from './metrics.js';

/** What the caller already knows of a transfer (a small file's fin's script told it). */
export interface KnownFacts {
  /** Where the segment index is read (default: Redis, a page at a time). */
  index?: SegmentIndex;
  /** Stream sequences of the transfer besides its segments' (its fin's), purged unlooked-for. */
  knownSeqs?: readonly number[];
}

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
  known: KnownFacts = {},
): Promise<AssemblyResult> {
  const index = known.index ?? ctx.store;
  const log = ctx.logger.child({
    key: lease.key,
    clientId: record.clientId,
    fileId: record.fileId,
    token: lease.token,
  });
  const size = record.finSize ?? 0;
  // Two passes over the segment index, a page at a time (plan.ts): the coverage first, then
  // the pieces as the reader needs them. Memory does not grow with the segment count.
  const coverage = await checkCoverage(index, lease.key, size);
  const purgeBelow = coverage.maxSeq + 1;
  if (coverage.missing.length > 0) return settleIncomplete(ctx, lease, record, coverage);
  const knownSeqs: number[] = [...(known.knownSeqs ?? [])];

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
      pieces: remembering(plannedPieces(index, lease.key, size), knownSeqs),
      window: READ_WINDOW,
      signal: AbortSignal.any([keeper.signal, shutdown]),
    })) {
      await upload.write(bytes);
    }
    return await completeAssembly(ctx, lease, record, keeper, log, {
      upload,
      size,
      purgeBelow,
      knownSeqs,
      started,
    });
  } catch (err) {
    return settleAssemblyError(ctx, lease, record, err, {
      keeper,
      shutdown,
      upload,
      purgeBelow,
      knownSeqs,
      log,
    });
  } finally {
    keeper.stop();
  }
}

/** An upload holding every byte of [0, size), and what the assembly knows about it. */
export interface WrittenUpload {
  upload: FileUpload;
  size: number;
  /** The reset's seqFloor, should the checksum not match: above every recorded sequence. */
  purgeBelow: number;
  /** Stream sequences read (the purge deletes them without a lookup). */
  knownSeqs: readonly number[];
  /** performance.now() when the assembly started. */
  started: number;
}

/**
 * The tail of every assembly (at fin, or progressive: assemble-progressive.ts), the transfer
 * 'assembling' under `lease`: checks the checksum the backend computed as the bytes went by
 * (a mismatch leaves nothing visible and resets the transfer), makes the file visible, marks
 * the transfer complete (fenced) and answers its fin, purges, frees its quota slot.
 */
export async function completeAssembly(
  ctx: AssemblerContext,
  lease: Lease,
  record: TransferRecord,
  keeper: LeaseKeeper,
  log: Logger,
  { upload, size, purgeBelow, knownSeqs, started }: WrittenUpload,
): Promise<AssemblyResult> {
  // The storage backend hashed the bytes as they went by.
  const { sha256 } = upload.written();
  if (record.expectedChecksum !== undefined && record.expectedChecksum.toLowerCase() !== sha256) {
    await upload.abort();
    log.warn({ expected: record.expectedChecksum, actual: sha256 }, 'file checksum mismatch');
    return failAndReset(ctx, lease, 'checksum_mismatch', purgeBelow);
  }
  if (!(await keeper.renew())) throw keeper.signal.reason;
  const done = await upload.complete({ size, sha256 });
  const completedAt = Date.now();
  const completed = await ctx.store.complete(lease, {
    location: done.location,
    size,
    checksum: sha256,
    now: completedAt,
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
  // What the completion script wrote, so that storing the outcome reads nothing back.
  await finishComplete(ctx, lease.key, completed.finReply, done.location, knownSeqs, {
    ...record,
    state: 'complete',
    location: done.location,
    size,
    checksum: sha256,
    completedAt,
    updatedAt: completedAt,
  });
  return 'complete';
}

/**
 * An assembly of a transfer 'assembling' under `lease` failed with `err`: aborts the upload,
 * then decides: lease lost, handed back (shutdown), segments lost (or the file stored
 * already), failed for good (permanentCause), or tried again later.
 */
export async function settleAssemblyError(
  ctx: AssemblerContext,
  lease: Lease,
  record: TransferRecord,
  err: unknown,
  a: {
    keeper: LeaseKeeper;
    shutdown: AbortSignal;
    upload: FileUpload | undefined;
    purgeBelow: number;
    knownSeqs: readonly number[];
    log: Logger;
  },
): Promise<AssemblyResult> {
  const { keeper, shutdown, upload, purgeBelow, knownSeqs, log } = a;
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
    await ctx.due.scheduleCheck(lease.key, Date.now());
    return 'handed_over';
  }
  if (err instanceof SegmentsLostError || err instanceof CoverageChangedError) {
    // Purged because the transfer completed already: its completion was recorded in a Redis
    // that was lost, and the replay of the stream rebuilt it from messages the purge was
    // deleting (test/chaos, redis-loss). Then the file is in storage, and it is complete.
    const stored = await storedCompletion(ctx, record).catch((verifyErr: unknown) => {
      ctx.metrics.storageErrors.inc({ operation: 'verify' });
      log.warn({ err: verifyErr }, 'could not look for the file in storage');
      return undefined;
    });
    if (stored) return completeAlreadyStored(ctx, lease, stored, log);
    log.error({ err }, 'segments lost');
    return failAndReset(ctx, lease, 'segments_lost', purgeBelow);
  }
  ctx.metrics.storageErrors.inc({ operation: err instanceof StorageError ? 'storage' : 'other' });
  // The sequences read so far; the purge walks the subject for the rest.
  const cause = permanentCause(err);
  if (cause) return failTransfer(ctx, lease, record, cause, knownSeqs, log, { err });
  return retryLater(ctx, lease, record, knownSeqs, log, err);
}

/**
 * The attempt failed in a way a later one may not (storage or NATS unavailable): counted, and
 * tried again after an exponential back-off (MQFT_ASSEMBLY_RETRY_DELAY doubling up to
 * MQFT_ASSEMBLY_RETRY_MAX_DELAY), or failed once MQFT_ASSEMBLY_MAX_ATTEMPTS attempts failed.
 */
async function retryLater(
  ctx: AssemblerContext,
  lease: Lease,
  record: TransferRecord,
  seqs: readonly number[],
  log: Logger,
  err: unknown,
): Promise<AssemblyResult> {
  const { config } = ctx;
  const retried = await ctx.store.retry(lease, {
    now: Date.now(),
    maxAttempts: config.assemblyMaxAttempts,
    delayMs: config.assemblyRetryDelay,
    maxDelayMs: config.assemblyRetryMaxDelay,
  });
  if (retried.status === 'lost') return 'lease_lost';
  if (retried.status === 'exhausted') {
    return failTransfer(ctx, lease, record, 'retries_exhausted', seqs, log, {
      err,
      attempts: retried.attempts,
    });
  }
  log.warn(
    { err, attempt: retried.attempts, retryAt: new Date(retried.retryAt).toISOString() },
    'assembly failed; will retry',
  );
  await ctx.due.scheduleCheck(lease.key, retried.retryAt);
  return 'retry';
}

/** Gaps remain: wait within the fin grace, else answer the fin with the missing ranges. */
async function settleIncomplete(
  ctx: AssemblerContext,
  lease: Lease,
  record: TransferRecord,
  { missing, missingMore }: Coverage,
): Promise<AssemblyResult> {
  const deadline = (record.finAt ?? 0) + ctx.config.finGrace;
  const now = Date.now();
  if (now < deadline) {
    await ctx.store.release(lease, { mode: 'wait', reason: 'incomplete', now });
    await ctx.due.scheduleCheck(lease.key, deadline);
    return 'incomplete_waiting';
  }
  const released = await ctx.store.release(lease, {
    mode: 'fail_fin',
    reason: 'incomplete',
    now,
    missing,
    missingMore,
  });
  if (released.status === 'released') {
    ctx.events.publish({ key: lease.key, state: 'receiving', reason: 'incomplete' });
    await replyToFin(ctx, lease.key, released.finReply, {
      reason: 'incomplete',
      missing,
      ...(missingMore ? { missingMore } : {}),
    });
  }
  await ctx.due.unschedule(lease.key);
  return 'incomplete';
}

/**
 * The whole file must be sent again: drop the segments and the fin, answer the device. Only
 * the messages this assembly knew are purged, and before the answer, so that a resend the
 * answer prompts is never purged; a late copy of a purged message is not recorded again
 * (the reset's seqFloor), or the next assembly would find it missing.
 */
async function failAndReset(
  ctx: AssemblerContext,
  lease: Lease,
  reason: 'checksum_mismatch' | 'segments_lost',
  purgeBelow: number,
): Promise<AssemblyResult> {
  const released = await ctx.store.release(lease, {
    mode: 'reset',
    reason,
    now: Date.now(),
    seqFloor: purgeBelow,
  });
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
  await ctx.due.unschedule(lease.key);
  return reason;
}

/** Passes the pieces on, noting the first KNOWN_SEQS_LIMIT sequences in `seqs`. */
export async function* remembering(
  pieces: AsyncIterable<PlanPiece> | Iterable<PlanPiece>,
  seqs: number[],
): AsyncGenerator<PlanPiece> {
  for await (const piece of pieces) {
    if (seqs.length < KNOWN_SEQS_LIMIT) seqs.push(piece.seq);
    yield piece;
  }
}
