import { createHash } from 'node:crypto';
import type { CompletedFile, StoredFileTarget } from '@mqft/storage';
import type { Lease, TransferRecord } from '@mqft/state';
import type { AssemblerContext } from './context.js';
import { finishComplete } from './results.js';

/** Where a transfer's file goes in storage: its identity and the init it was sent with. */
export function storedFileTarget(record: TransferRecord): StoredFileTarget {
  return {
    clientId: record.clientId,
    fileId: record.fileId,
    name: record.name ?? '',
    filemetaJson: record.filemeta ?? '{}',
  };
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

/** The assembly found its segments purged, but storage holds the verified file: complete. */
export async function completeAlreadyStored(
  ctx: AssemblerContext,
  lease: Lease,
  stored: CompletedFile,
  log: AssemblerContext['logger'],
): Promise<'already_stored' | 'lease_lost'> {
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
