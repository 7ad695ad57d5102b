import type { TransferOutcome } from '@mqft/stream';
import type { TransferRecord } from '@mqft/state';
import type { AssemblerContext } from './context.js';
import { outcomeOf } from './outcomes.js';
import { scheduleDeletion } from './retention.js';

/**
 * The last steps of a completion that must not be lost, before the segments are purged: the
 * retention schedule (MQFT_RETENTION_*), then the `complete` outcome. Both idempotent: the lease
 * watchdog does them again for a transfer whose assembler died in between (scheduler.ts).
 */
export async function storeCompletion(
  ctx: AssemblerContext,
  record: TransferRecord,
): Promise<void> {
  const deleteAt = await scheduleDeletion(ctx, record);
  const fields: Partial<TransferOutcome> = {
    at: record.completedAt ?? Date.now(),
    location: record.location ?? '',
    size: record.size ?? record.finSize ?? 0,
    checksum: record.checksum ?? '',
  };
  if (deleteAt !== undefined) fields.deleteAt = deleteAt;
  await ctx.outcomes.publish(outcomeOf('complete', record, fields));
}
