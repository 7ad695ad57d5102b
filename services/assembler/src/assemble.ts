import { createHash } from 'node:crypto';
import { parseTransferKey, type ReasonDescription } from '@mqft/protocol';
import {
  StorageError,
  type CompletedFile,
  type FileUpload,
  type StoredFileTarget,
} from '@mqft/storage';
import {
  commandSubject,
  commandSubjects,
  decodeReply,
  purgeLeftovers,
  purgeSubject,
} from '@mqft/stream';
import type { Lease, TransferRecord } from '@mqft/state';
import type { AssemblerContext } from './context.js';
import { LeaseKeeper } from './lease.js';
import type { AssemblyResult } from './metrics.js';
import { planAssembly } from './plan.js';
import { RecentPurges } from './recent-purges.js';
import { readPlannedBytes, SegmentsLostError } from './segment-reader.js';

/** Direct gets in flight per assembly (docs/design.md: 8 reached 151 MB/s here, far above what
 * one assembly writes; more only holds more message buffers in memory). */
export const READ_WINDOW = 8;
/** How long to wait before retrying an assembly that storage or NATS failed. */
export const RETRY_AFTER_MS = 3000;
/** A complete transfer's purge: attempts, 1 s apart (a NATS restart takes about that). */
const PURGE_ATTEMPTS = 15;
const PURGE_RETRY_MS = 1000;

export type { AssemblyResult } from './metrics.js';

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
      await ctx.due.scheduleCheck(lease.key, Date.now());
      return 'handed_over';
    }
    if (err instanceof SegmentsLostError) {
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
    log.error({ err }, 'assembly failed; will retry');
    await ctx.store.release(lease, { mode: 'wait', reason: 'unavailable', now: Date.now() });
    await ctx.due.scheduleCheck(lease.key, Date.now() + RETRY_AFTER_MS);
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
  // The file is safe in storage: the segments may go, and the quota slot frees. Deleting them
  // one by one (see purgeSubject) takes a while for a large file, so it runs in the
  // background; the lease watchdog (still scheduled until it is done) covers a crash. It
  // starts before anything else waits on Redis: while Redis is down, the messages would
  // otherwise stay, and a replay after Redis lost everything would rebuild the transfer.
  const purge = purgeCompleted(ctx, key, seqs)
    .then(() => ctx.due.unschedule(key))
    .catch((err: unknown) => ctx.logger.warn({ err, key }, 'purge after completion failed'))
    .finally(() => purging.delete(purge));
  purging.add(purge);
  await ctx.quotas.release(key);
}

/** The assembly found its segments purged, but storage holds the verified file: complete. */
async function completeAlreadyStored(
  ctx: AssemblerContext,
  lease: Lease,
  stored: CompletedFile,
  log: AssemblerContext['logger'],
): Promise<AssemblyResult> {
  const completed = await ctx.store.complete(lease, {
    location: stored.location,
    size: stored.size,
    checksum: stored.sha256,
    now: Date.now(),
  });
  if (completed.status === 'lost') {
    log.warn('lease lost; the file is in storage already');
    return 'lease_lost';
  }
  log.info(
    { size: stored.size, sha256: stored.sha256, location: stored.location },
    'segments gone, but storage holds the verified file: transfer complete',
  );
  await finishComplete(ctx, lease.key, completed.finReply, stored.location, []);
  return 'already_stored';
}

/**
 * Marks complete a 'receiving' transfer (not leased) whose verified file storage already
 * holds — see {@link storedCompletion}. Used after a replay of the stream, which may have
 * rebuilt part of a transfer that had completed (its record lost with Redis) from messages
 * its purge was deleting: nothing else would ever settle such a record. Returns true when it
 * marked the transfer complete.
 */
export async function settleIfStored(ctx: AssemblerContext, key: string): Promise<boolean> {
  const record = await ctx.store.get(key);
  if (record?.state !== 'receiving') return false;
  const stored = await storedCompletion(ctx, record);
  if (!stored) return false;
  const done = await ctx.store.completeStored(key, {
    location: stored.location,
    size: stored.size,
    checksum: stored.sha256,
    now: Date.now(),
  });
  if (done.status !== 'complete') return false;
  ctx.metrics.assemblies.inc({ result: 'already_stored' });
  ctx.logger.info(
    {
      key,
      clientId: record.clientId,
      fileId: record.fileId,
      size: stored.size,
      location: stored.location,
    },
    'rebuilt transfer found complete in storage',
  );
  await finishComplete(ctx, key, done.finReply, stored.location, []);
  return true;
}

/**
 * The transfer's file, if storage holds it and it is this transfer's: the stored init metadata
 * equals the recorded one (name, size, checksum, user data…), and the stored size and SHA-256
 * match what init and fin declared, when they declared it. Only a completed assembly of this
 * transfer (clientId, fileId, name) ever makes that object visible; an upload that reuses a
 * fileId with the very same init and no checksum after the record of the first one is gone is
 * indistinguishable, as it is for a fin that finds the transfer complete.
 */
export async function storedCompletion(
  ctx: AssemblerContext,
  record: TransferRecord,
): Promise<CompletedFile | undefined> {
  if (record.name === undefined || record.filemeta === undefined) return undefined;
  const target = storedFileTarget(record);
  const stat = await ctx.storage.stat(target);
  if (!stat) return undefined;
  const { metadata } = stat;
  if (!sameJson(metadata.filemeta, record.filemeta)) return undefined;
  if (metadata.clientid !== undefined && metadata.clientid !== record.clientId) return undefined;
  if (metadata.fileid !== undefined && metadata.fileid !== record.fileId) return undefined;
  for (const size of [record.finSize, record.declaredSize]) {
    if (size !== undefined && size !== stat.size) return undefined;
  }
  // The file backend's sidecar carries the SHA-256 it verified; S3 metadata cannot (it is set
  // before the bytes are known), so the object is read and hashed (a rare path).
  const sha256 = metadata.sha256 ?? (await hashStored(ctx, target));
  const expected = record.expectedChecksum?.toLowerCase();
  if (expected !== undefined && expected !== sha256) return undefined;
  return { location: ctx.storage.locate(target), size: stat.size, sha256 };
}

function sameJson(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}

async function hashStored(ctx: AssemblerContext, target: StoredFileTarget): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of (await ctx.storage.read(target)) as AsyncIterable<Buffer | string>) {
    hash.update(chunk);
  }
  return hash.digest('hex');
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
      recentPurges.remember(key);
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

const recentPurges = new RecentPurges();

/** Purges again what this process purged in the last 30 s: call it when NATS reconnects. */
export async function repurgeRecent(ctx: AssemblerContext): Promise<void> {
  for (const key of recentPurges.recent()) await purgeCompleted(ctx, key);
}

/**
 * Checks the transfers purged LEFTOVER_CHECK_MS ago or earlier for messages nats-server kept,
 * all in one stream info request, and deletes them (call it every LEFTOVER_CHECK_MS).
 */
export async function purgeLeftoversOfRecent(ctx: AssemblerContext): Promise<void> {
  const keys = recentPurges.takeDue();
  if (keys.length === 0) return;
  const { stream } = ctx.config;
  try {
    const deleted = await purgeLeftovers(
      ctx.jsm,
      stream,
      commandSubjects(stream),
      keys.map((key) => commandSubject(stream, key)),
    );
    for (const [subject, count] of deleted) {
      ctx.logger.warn(
        { key: subject.slice(commandSubject(stream, '').length), deleted: count },
        'purged messages were still in the stream; deleted again',
      );
    }
  } catch (err) {
    ctx.logger.warn({ err, transfers: keys.length }, 'could not check the stream for leftovers');
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
    await ctx.due.scheduleCheck(lease.key, deadline);
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

export async function replyToFin(
  ctx: AssemblerContext,
  key: string,
  finReply: string,
  result: { reason: ReasonDescription; missing?: [number, number][]; location?: string },
): Promise<void> {
  if (finReply === '' || !parseTransferKey(key)) return;
  await ctx.sendResult(key, decodeReply(finReply), result);
}
