import { sleep, type Logger } from '@mqft/config';
import type { FileUpload } from '@mqft/storage';
import { commandSubject } from '@mqft/stream';
import type { Lease, TransferRecord } from '@mqft/state';
import {
  completeAssembly,
  READ_WINDOW,
  remembering,
  settleAssemblyError,
  type AssemblyResult,
} from './assemble.js';
import type { AssemblerContext } from './context.js';
import { LeaseKeeper } from './lease.js';
import type { ProgressiveEnd } from './metrics.js';
import { extendPrefix, PLAN_PAGE_SIZE, type PlanPiece } from './plan.js';
import { readPlannedBytes, SegmentsLostError } from './segment-reader.js';
import { storedFileTarget } from './stored-file.js';

/** How often a progressive holder looks for new bytes when no segment recorded here woke it. */
export const PROGRESSIVE_POLL_MS = 250;
/**
 * The least time between two claims of a holder that caught up: the segments recorded
 * meanwhile are claimed together (a wake-up per 64 KiB segment would otherwise cost a claim
 * and a storage write per segment, on the event loop that records them).
 */
export const PROGRESSIVE_BATCH_MS = 50;
/**
 * Starts over one progressive assembly may make. Each rereads the prefix from zero, so a
 * device that keeps replacing an early segment (a retransmitting or hostile one) would
 * otherwise cost a whole prefix per segment it sends; past this, the transfer is not offered
 * progressive assembly again, and its fin assembles it once.
 */
export const PROGRESSIVE_MAX_RESTARTS = 3;

/** Wakes a waiting progressive holder: this process recorded a segment or fin of its transfer. */
export class Wakeup {
  private pending = false;
  private resolveWait: (() => void) | undefined;

  wake(): void {
    this.pending = true;
    this.resolveWait?.();
  }

  /** Resolves at the next wake() (or at once after one since the last wait), after `ms`, or on abort. */
  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (!this.pending && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.resolveWait = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener('abort', done, { once: true });
        this.resolveWait = done;
      });
    }
    this.pending = false;
  }
}

/** One pass from byte 0 into one upload; a restart drops it and begins another. */
interface Attempt {
  upload: FileUpload;
  /** The plan epoch read by the attempt's first claim (undefined before it). */
  epoch: number | undefined;
  /** Bytes [0, pos) are written. */
  pos: number;
  /** The offset of the last segment taken: the next claim reads the page after it. */
  after: number | undefined;
  /** The size the walk was bounded by (the fin's, else init's; undefined: none known). */
  size: number | undefined;
  /** The highest stream sequence seen in the pages (a reset's seqFloor is above it). */
  maxSeq: number;
  knownSeqs: number[];
}

/** What a progressive assembly came to. */
export interface ProgressiveOutcome {
  end: ProgressiveEnd;
  /** The assembly's tail ran (end 'finished'): its result. */
  result?: AssemblyResult;
}

/** The walk in TypeScript and the one in Lua (scripts.claimProgress) disagree: a bug. */
export class PrefixMismatchError extends Error {
  override name = 'PrefixMismatchError';
}

/**
 * Progressive assembly (docs/internals.md "Assembly"): the holder of a transfer's lease, taken
 * while the transfer is still receiving (store.acquireProgressive), streams the contiguous
 * prefix of the file into an upload as it grows, so at fin only the tail and complete()
 * remain. Every page of segments is claimed in Redis (store.claimProgress: the prefix end
 * becomes `prog`); a segment recorded below it bumps the plan epoch, and the next claim tells
 * the holder to start over from zero (as does a changed size). When a fin is recorded and
 * [0, finSize) written, store.finishProgressive makes the transfer 'assembling' (epoch and
 * size checked in the same script) and the tail of a normal assembly runs (completeAssembly).
 * Every other exit aborts the upload and gives the lease back; an error leaves the work to
 * the fin's normal assembly (from zero).
 */
export async function assembleProgressively(
  ctx: AssemblerContext,
  lease: Lease,
  wakeup: Wakeup,
  shutdown: AbortSignal,
): Promise<ProgressiveOutcome> {
  const log = ctx.logger.child({ key: lease.key, token: lease.token, progressive: true });
  const keeper = new LeaseKeeper(ctx.store, lease, ctx.config.leaseTtl, (err) =>
    log.warn({ err }, 'lease renewal failed'),
  );
  const signal = AbortSignal.any([keeper.signal, shutdown]);
  const started = performance.now();
  let attempt: Attempt | undefined;
  let lastGrowth = Date.now();
  let restarts = 0;
  /** A segment read failed: lost for good unless the next claim finds the plan changed. */
  let lost: SegmentsLostError | undefined;

  const dropAttempt = async (): Promise<void> => {
    const upload = attempt?.upload;
    attempt = undefined;
    await upload?.abort();
  };
  const restart = async (why: string): Promise<void> => {
    restarts++;
    ctx.metrics.progressiveRestarts.inc();
    log.info({ why }, 'progressive assembly starts over');
    lost = undefined;
    await dropAttempt();
  };
  /** Gives the lease back, the upload aborted first (if it could not be, a successor aborts it). */
  const giveUp = async (end: ProgressiveEnd): Promise<ProgressiveOutcome> => {
    const aborted = await dropAttempt().then(
      () => true,
      (err: unknown) => {
        log.warn({ err }, 'upload abort failed');
        return false;
      },
    );
    if (end !== 'lease_lost')
      await ctx.store.releaseProgressive(lease, aborted, end === 'restarts');
    return { end };
  };

  try {
    for (;;) {
      signal.throwIfAborted();
      if (restarts > PROGRESSIVE_MAX_RESTARTS) {
        log.warn({ restarts }, 'progressive assembly started over too often: given up');
        return await giveUp('restarts');
      }
      if (!attempt) {
        const record = await ctx.store.get(lease.key);
        if (record?.state !== 'receiving' || record.name === undefined)
          return await giveUp('stopped');
        attempt = await beginAttempt(ctx, lease, record);
      }
      const claim = await ctx.store.claimProgress(lease, {
        epoch: attempt.epoch,
        after: attempt.after,
        pos: attempt.pos,
        limit: PLAN_PAGE_SIZE,
      });
      if (claim.status === 'lost') return await giveUp('lease_lost');
      if (claim.status === 'state') return await giveUp('stopped');
      if (claim.status === 'stale') {
        await restart('a segment below the written prefix was recorded');
        continue;
      }
      if (lost) throw lost;
      const size = claim.finSize ?? claim.declaredSize;
      if (attempt.epoch === undefined) {
        attempt.epoch = claim.epoch;
      } else if (size !== attempt.size && !stillValid(attempt, size)) {
        await restart('the size changed');
        continue;
      }
      attempt.size = size;
      const step = extendPrefix(claim.page, attempt.pos, size ?? Infinity);
      if (step.end !== claim.end) {
        throw new PrefixMismatchError(`prefix end ${step.end} here, ${claim.end} in Redis`);
      }
      for (const segment of claim.page) attempt.maxSeq = Math.max(attempt.maxSeq, segment.seq);
      if (step.pieces.length > 0) {
        try {
          await writePieces(ctx, lease, attempt, step.pieces, signal);
        } catch (err) {
          // A segment replaced meanwhile was deleted at once (recordSegment's superseded): the
          // next claim finds the epoch changed. If it does not, the segment is lost for good.
          if (!(err instanceof SegmentsLostError)) throw err;
          lost = err;
          continue;
        }
        lastGrowth = Date.now();
      }
      attempt.pos = step.end;
      if (step.lastOffset !== undefined) attempt.after = step.lastOffset;
      if (step.lastOffset !== undefined && claim.page.length >= PLAN_PAGE_SIZE) continue;
      if (claim.finSize !== undefined && attempt.pos === claim.finSize) {
        const finished = await ctx.store.finishProgressive(lease, {
          epoch: attempt.epoch,
          size: claim.finSize,
          now: Date.now(),
        });
        if (finished.status === 'lost') return await giveUp('lease_lost');
        if (finished.status === 'state') return await giveUp('stopped');
        if (finished.status === 'stale') {
          await restart('the plan changed at fin');
          continue;
        }
        // 'assembling' now, as after acquireLease: the tail of a normal assembly ends it.
        log.debug({ size: claim.finSize }, 'progressive assembly written; completing');
        const upload = attempt.upload;
        const written = { ...attempt, upload, size: claim.finSize, started };
        attempt = undefined;
        const result = await finishAssembly(ctx, lease, keeper, shutdown, log, written);
        return { end: 'finished', result };
      }
      if (Date.now() - lastGrowth >= ctx.config.progressiveIdle) {
        log.info({ written: attempt.pos }, 'progressive assembly idle: given up');
        return await giveUp('idle');
      }
      const claimedAt = Date.now();
      await wakeup.wait(PROGRESSIVE_POLL_MS, signal);
      const rest = claimedAt + PROGRESSIVE_BATCH_MS - Date.now();
      if (rest > 0) await sleep(rest, signal);
    }
  } catch (err) {
    if (keeper.signal.aborted) {
      log.warn('progressive assembly stopped: lease lost');
      return await giveUp('lease_lost');
    }
    if (shutdown.aborted) {
      log.info('progressive assembly handed back: shutting down');
      return await giveUp('handed_over');
    }
    log.warn({ err }, 'progressive assembly failed; the fin assembles from zero');
    return await giveUp('error');
  } finally {
    keeper.stop();
  }
}

/**
 * A size learnt or changed: the bytes written still hold when they end below the new size and
 * none was cut at the old one (the walk cuts the last segment at the size).
 */
function stillValid(attempt: Attempt, size: number | undefined): boolean {
  if (size === undefined) return false;
  return attempt.pos <= size && (attempt.size === undefined || attempt.pos < attempt.size);
}

/** Aborts a predecessor's upload (a holder that died), begins a new one, records its id. */
async function beginAttempt(
  ctx: AssemblerContext,
  lease: Lease,
  record: TransferRecord,
): Promise<Attempt> {
  const target = storedFileTarget(record);
  await ctx.storage.abortUnfinished(target, record.uploadId);
  const upload = await ctx.storage.begin(target);
  const attempt: Attempt = {
    upload,
    epoch: undefined,
    pos: 0,
    after: undefined,
    size: undefined,
    maxSeq: 0,
    knownSeqs: [],
  };
  if (upload.uploadId !== '' && !(await ctx.store.recordUpload(lease, upload.uploadId))) {
    await upload.abort();
    throw new Error('lease lost before the upload was recorded');
  }
  return attempt;
}

async function writePieces(
  ctx: AssemblerContext,
  lease: Lease,
  attempt: Attempt,
  pieces: readonly PlanPiece[],
  signal: AbortSignal,
): Promise<void> {
  for await (const bytes of readPlannedBytes({
    jsm: ctx.jsm,
    stream: ctx.config.stream,
    subject: commandSubject(ctx.config.stream, lease.key),
    pieces: remembering(pieces, attempt.knownSeqs),
    window: READ_WINDOW,
    signal,
  })) {
    await attempt.upload.write(bytes);
  }
}

/** The transfer is 'assembling' under `lease` and [0, size) written: the assembly's tail. */
async function finishAssembly(
  ctx: AssemblerContext,
  lease: Lease,
  keeper: LeaseKeeper,
  shutdown: AbortSignal,
  log: Logger,
  written: Attempt & { size: number; started: number },
): Promise<AssemblyResult> {
  const { upload, maxSeq, knownSeqs } = written;
  const purgeBelow = maxSeq + 1;
  const record = await ctx.store.get(lease.key);
  if (!record) {
    await upload.abort();
    return 'lease_lost';
  }
  ctx.events.publish({ key: lease.key, state: 'assembling' });
  try {
    return await completeAssembly(ctx, lease, record, keeper, log, {
      upload,
      size: written.size,
      purgeBelow,
      knownSeqs,
      started: written.started,
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
  }
}
