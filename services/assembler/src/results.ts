import { parseTransferKey, type ReasonDescription } from '@mqft/protocol';
import { decodeReply } from '@mqft/stream';
import type { AssemblerContext } from './context.js';

/** What a fin is answered with (docs/protocol.md "Results"). */
export interface FinResult {
  reason: ReasonDescription;
  missing?: [number, number][];
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
 * sequences, when known.
 */
export async function finishComplete(
  ctx: AssemblerContext,
  key: string,
  finReply: string,
  location: string,
  seqs: readonly number[],
): Promise<void> {
  ctx.events.publish({ key, state: 'complete', location });
  await replyToFin(ctx, key, finReply, { reason: 'success', location });
  // The file is safe in storage: the segments may go, and the quota slot frees. Deleting them
  // one by one (see purgeSubject) takes a while for a large file, so it runs in the
  // background; the lease watchdog (still scheduled until it is done) covers a crash. It
  // starts before anything else waits on Redis: while Redis is down, the messages would
  // otherwise stay, and a replay after Redis lost everything would rebuild the transfer.
  ctx.purger.purgeInBackground(key, seqs, () => ctx.due.unschedule(key));
  await ctx.quotas.release(key);
}
