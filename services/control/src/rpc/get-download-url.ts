import {
  TransferState,
  transferStateToJSON,
  type Duration,
  type GetDownloadUrlRequest,
  type GetDownloadUrlResponse,
} from '@mqft/api';
import type { CallScope, ControlContext } from '../context.js';
import { failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { timestamp, toTransfer } from '../transfer-mapping.js';
import { loadTransfer, requireTransferId } from './common.js';

/** SigV4 presigned URLs live at most 7 days. */
export const MAX_URL_TTL_MS = 7 * 24 * 3600_000;

/**
 * GetDownloadUrl: for a complete transfer whose file is still in storage, a presigned S3 GET
 * (valid for the requested or configured time) or, for the local-directory backend, its
 * file:// URL (no expiry).
 */
export async function getDownloadUrl(
  ctx: ControlContext,
  request: GetDownloadUrlRequest,
  _scope: CallScope,
): Promise<GetDownloadUrlResponse> {
  const id = requireTransferId(request);
  const ttlMs = ttlOf(request.ttl, ctx.settings.downloadUrlTtlMs);
  const record = await loadTransfer(ctx, id);
  const state = toTransfer(record, ctx.now()).state;
  if (state !== TransferState.TRANSFER_STATE_COMPLETE) {
    throw failedPrecondition(
      `the transfer is ${transferStateToJSON(state)}; only a complete transfer can be downloaded`,
    );
  }
  if (record.name === undefined) throw failedPrecondition('the transfer has no file name');
  const ref = { clientId: record.clientId, fileId: record.fileId, name: record.name };
  if (!(await ctx.storage.stat(ref))) throw notFound('the file is no longer in storage');
  const seconds = Math.max(1, Math.floor(ttlMs / 1000));
  const issuedAt = ctx.now();
  const url = await ctx.storage.downloadUrl(ref, seconds);
  return {
    url,
    expireTime: ctx.storage.kind === 's3' ? timestamp(issuedAt + seconds * 1000) : undefined,
  };
}

function ttlOf(ttl: Duration | undefined, fallbackMs: number): number {
  if (ttl === undefined) return Math.min(fallbackMs, MAX_URL_TTL_MS);
  const ms = ttl.seconds * 1000 + ttl.nanos / 1e6;
  if (!(ms >= 1000)) throw invalidArgument('ttl must be at least 1s');
  if (ms > MAX_URL_TTL_MS) throw invalidArgument('ttl must be at most 7 days');
  return ms;
}
