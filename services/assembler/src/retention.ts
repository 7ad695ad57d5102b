import { StorageError } from '@mqft/storage';
import type { ClaimedDeletion, TransferRecord } from '@mqft/state';
import type { AssemblerConfig } from './config.js';
import type { AssemblerContext } from './context.js';
import { outcomeOf } from './outcomes.js';

/** How often each assembler looks for files to delete. */
export const RETENTION_SWEEP_MS = 1000;
/** Deletions one sweep claims at most (bounded work per tick). */
const RETENTION_BATCH = 16;
/** How long a claimed deletion is another sweeper's to skip; after that it is due again. */
const RETENTION_CLAIM_MS = 60_000;

/**
 * When retention deletes a file stored at `completedAt` (docs/operations.md "Retention"):
 * the init's expire_at, else completedAt + MQFT_RETENTION_DEFAULT (0: never); never later
 * than completedAt + MQFT_RETENTION_MAX (0: no limit). Undefined: kept for ever (or retention
 * is off).
 */
export function deletionTime(
  config: Pick<AssemblerConfig, 'retentionEnabled' | 'retentionDefault' | 'retentionMax'>,
  record: Pick<TransferRecord, 'completedAt' | 'filemeta'>,
): number | undefined {
  const stored = record.completedAt;
  if (!config.retentionEnabled || stored === undefined) return undefined;
  const expireAt = expireAtMs(record.filemeta);
  let at = expireAt ?? (config.retentionDefault > 0 ? stored + config.retentionDefault : undefined);
  if (config.retentionMax > 0) at = Math.min(at ?? Infinity, stored + config.retentionMax);
  return at;
}

/** Schedules the deletion of a complete transfer's file, if retention deletes it; its time. */
export async function scheduleDeletion(
  ctx: AssemblerContext,
  record: TransferRecord,
): Promise<number | undefined> {
  const deleteAt = deletionTime(ctx.config, record);
  if (deleteAt === undefined || record.completedAt === undefined) return undefined;
  await ctx.retention.schedule({
    key: record.key,
    clientId: record.clientId,
    fileId: record.fileId,
    name: record.name ?? '',
    size: record.size ?? 0,
    location: record.location ?? '',
    completedAt: record.completedAt,
    createdAt: record.createdAt ?? record.completedAt,
    deleteAt,
  });
  return deleteAt;
}

/**
 * Deletes stored files whose time came (MQFT_RETENTION_ENABLED): every assembler sweeps the
 * retention index, each due file claimed by one of them; the file, then its record, then the
 * `expired` outcome, then the index entry. A deleter that dies leaves the claim to lapse: the
 * next one does it all again (each step idempotent).
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly ctx: AssemblerContext) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    }, RETENTION_SWEEP_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One sweep: claims what is due and deletes it; never throws. */
  async sweep(now = Date.now()): Promise<void> {
    let claimed: ClaimedDeletion[];
    try {
      claimed = await this.ctx.retention.claimDue(now, RETENTION_BATCH, RETENTION_CLAIM_MS);
    } catch (err) {
      this.ctx.logger.warn({ err }, 'retention sweep failed');
      return;
    }
    for (const deletion of claimed) {
      try {
        await this.delete(deletion);
      } catch (err) {
        const operation = err instanceof StorageError ? 'storage' : 'other';
        if (operation === 'storage') this.ctx.metrics.storageErrors.inc({ operation });
        this.ctx.logger.warn(
          { err, key: deletion.key, retryInMs: RETENTION_CLAIM_MS },
          'expired file not deleted; retried later',
        );
      }
    }
  }

  private async delete(deletion: ClaimedDeletion): Promise<void> {
    const { ctx } = this;
    const record = await ctx.store.get(deletion.key);
    // A later upload of the same file id owns the file now, or is writing it: not this one's.
    if (record?.state === 'assembling') return;
    if (record?.state === 'complete' && record.completedAt !== deletion.completedAt) {
      await ctx.retention.finish(deletion);
      return;
    }
    const { clientId, fileId, name } = deletion;
    await ctx.storage.delete({ clientId, fileId, name });
    await ctx.retention.forgetRecord(deletion);
    await ctx.outcomes.publish(
      outcomeOf(
        'expired',
        {
          key: deletion.key,
          clientId,
          fileId,
          name,
          state: 'complete',
          bytes: deletion.size,
          segCount: 0,
          createdAt: deletion.createdAt,
          updatedAt: deletion.deleteAt,
          filemeta: record?.filemeta,
        },
        { at: Date.now(), location: deletion.location, size: deletion.size },
      ),
    );
    await ctx.retention.finish(deletion);
    ctx.metrics.expiredFiles.inc();
    ctx.metrics.expiredBytes.inc(deletion.size);
    ctx.logger.info(
      { key: deletion.key, clientId, fileId, size: deletion.size, location: deletion.location },
      'stored file expired: deleted',
    );
  }
}

/** The init's expire_at (Unix seconds) in ms, if it gave one. */
function expireAtMs(filemeta: string | undefined): number | undefined {
  if (filemeta === undefined) return undefined;
  try {
    const { expire_at: expireAt } = JSON.parse(filemeta) as { expire_at?: unknown };
    return typeof expireAt === 'number' && Number.isFinite(expireAt) ? expireAt * 1000 : undefined;
  } catch {
    return undefined;
  }
}
