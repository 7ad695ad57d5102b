import type { Logger } from '@mqft/config';
import { isRefusedForGood } from '@mqft/storage';
import type { Lease, TransferRecord } from '@mqft/state';
import type { AssemblerContext } from './context.js';
import { outcomeOf } from './outcomes.js';
import { replyToFin } from './results.js';
import { storedFileTarget } from './stored-file.js';
import type { FailureCause } from './metrics.js';

export type { FailureCause } from './metrics.js';

/** The cause when no later attempt can succeed; undefined for a failure worth retrying. */
export function permanentCause(err: unknown): FailureCause | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e instanceof RangeError) return 'invalid_data';
    e = e.cause;
  }
  return isRefusedForGood(err) ? 'storage_refused' : undefined;
}

/**
 * Ends the leased transfer as failed: the record keeps `assembly_failed` and the cause
 * (failTransfer script, fenced by the lease), any unfinished upload is aborted, the waiting fin
 * answered 0x83 `assembly_failed`, watchers told, the stream messages purged in the background
 * (then the due entry goes) and the quota slot freed. `seqs` are its segments' sequences when
 * known (else the subject is walked). 'lease_lost' when the lease was no longer ours (the successor decides).
 */
export async function failTransfer(
  ctx: AssemblerContext,
  lease: Lease,
  record: TransferRecord,
  cause: FailureCause,
  seqs: readonly number[],
  log: Logger,
  /** For the one error line: the last error, attempts and deaths counted. */
  facts: { err?: unknown; attempts?: number; deaths?: number } = {},
): Promise<'failed' | 'lease_lost'> {
  const failed = await ctx.store.fail(lease, {
    reason: 'assembly_failed',
    cause,
    now: Date.now(),
  });
  if (failed.status === 'lost') {
    log.warn({ cause }, 'lease lost before the transfer could be failed');
    return 'lease_lost';
  }
  ctx.metrics.failedTransfers.inc({ cause });
  log.error(
    { cause, attempts: record.attempts ?? 0, deaths: record.deaths ?? 0, ...facts },
    'transfer failed: assembly given up',
  );
  await ctx.storage
    .abortUnfinished(storedFileTarget(record), failed.uploadId || undefined, record.finSize)
    .catch((abortErr: unknown) =>
      log.warn({ err: abortErr }, 'unfinished upload of a failed transfer not aborted'),
    );
  await publishFailed(ctx, lease.key, 'assembly_failed', log);
  await replyToFin(ctx, lease.key, failed.finReply, { reason: 'assembly_failed' });
  ctx.purger.purgeInBackground(lease.key, seqs, () => ctx.due.unschedule(lease.key));
  await ctx.quotas.release(lease.key);
  return 'failed';
}

/**
 * Tells watchers and backends that the transfer ended failed: the hint event, and the durable
 * outcome (docs/events.md) with the record as the failing script left it. The outcome store
 * retries; a publish that still fails is logged (the record says failed either way).
 */
export async function publishFailed(
  ctx: AssemblerContext,
  key: string,
  reason: 'assembly_failed' | 'too_many_segments',
  log: Logger,
): Promise<void> {
  ctx.events.publish({ key, state: 'failed', reason });
  try {
    const record = await ctx.store.get(key);
    if (record?.state === 'failed')
      await ctx.outcomes.publish(outcomeOf('failed', record, { reason }));
  } catch (err) {
    log.warn({ err, key }, 'failed outcome not stored');
  }
}
