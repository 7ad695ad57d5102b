import { parseTransferKey, type ReasonDescription } from '@mqft/protocol';
import { decodeReply } from '@mqft/stream';
import type { TransferRecord } from '@mqft/state';
import type { AssemblerContext } from './context.js';
import { storeCompletion } from './store-completion.js';

/** What a fin is answered with (docs/protocol.md "Results"). */
export interface FinResult {
  reason: ReasonDescription;
  /** The first MAX_MISSING_RANGES missing ranges (the planner lists no more). */
  missing?: [number, number][];
  /** More ranges are missing than `missing` lists. */
  missingMore?: boolean;
  location?: string;
}

/**
 * Answers the fin a settled transfer kept (`finReply`, as stored by recordFin): nothing when no
 * fin waits ('') or the key names no device's transfer.
 */
export async function replyToFin(
  ctx: Pick<AssemblerContext, 'sendResult'>,
  key: string,
  finReply: string,
  result: FinResult,
): Promise<void> {
  if (finReply === '' || !parseTransferKey(key)) return;
  await ctx.sendResult(key, decodeReply(finReply), result);
}

/**
 * A transfer was marked complete: tells watchers and the waiting fin, purges its segments in
 * the background (the Purger) and frees its quota slot. `seqs` are its segments' stream
 * sequences, when known; `completed` its record as the completion left it, when the caller
 * knows it (else it is read from Redis).
 */
export async function finishComplete(
  ctx: AssemblerContext,
  key: string,
  finReply: string,
  location: string,
  seqs: readonly number[],
  completed?: TransferRecord,
): Promise<void> {
  ctx.events.publish({ key, state: 'complete', location });
  await replyToFin(ctx, key, finReply, { reason: 'success', location });
  // The outcome is stored for backends before the segments go: until the purge, a crash
  // leaves the watchdog (or, Redis lost, the replay) to complete it again and publish it.
  if (!(await storeCompletionOrDefer(ctx, key, completed))) return;
  // The file is safe in storage: the segments may go, and the quota slot frees. Deleting them
  // one by one (see purgeSubject) takes a while for a large file, so it runs in the
  // background; the lease watchdog (still scheduled until it is done) covers a crash. It
  // starts before anything else waits on Redis: while Redis is down, the messages would
  // otherwise stay, and a replay after Redis lost everything would rebuild the transfer.
  ctx.purger.purgeInBackground(key, seqs, () => ctx.due.unschedule(key));
  await ctx.quotas.release(key);
}

/** After a failure to store the outcome, the transfer's check (scheduler.ts) tries again. */
export const STORE_COMPLETION_RETRY_MS = 3000;

/**
 * storeCompletion for a transfer just marked complete; false when it failed (NATS or Redis
 * away): the due index brings the transfer back to the watchdog, which does it and the purge.
 */
async function storeCompletionOrDefer(
  ctx: AssemblerContext,
  key: string,
  completed: TransferRecord | undefined,
): Promise<boolean> {
  try {
    const record = completed ?? (await ctx.store.get(key));
    if (record?.state === 'complete') await storeCompletion(ctx, record);
    return true;
  } catch (err) {
    ctx.logger.warn({ err, key }, 'outcome not stored; the due index retries it');
    await ctx.due
      .scheduleCheck(key, Date.now() + STORE_COMPLETION_RETRY_MS)
      .catch((dueErr: unknown) => ctx.logger.warn({ err: dueErr, key }, 'could not schedule'));
    return false;
  }
}
