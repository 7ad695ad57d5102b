import { TransferState, type Timestamp, type Transfer } from '@mqft/api';
import { transferKey, type TransferId } from '@mqft/protocol';
import { redisReady, type TransferRecord } from '@mqft/state';
import type { CallScope, ControlContext } from '../context.js';
import { deadlineExceeded, invalidArgument, notFound, unavailable } from '../errors.js';
import { millisOf } from '../transfer-mapping.js';

/** Longest clientId or fileId accepted: the device protocol's fileId limit, with room. */
const MAX_ID_BYTES = 65_535;

/** The (client_id, file_id) of a request; INVALID_ARGUMENT when either is empty. */
export function requireTransferId(request: {
  clientId: string;
  fileId: string;
}): TransferId & { key: string } {
  if (request.clientId === '') throw invalidArgument('client_id is required');
  if (request.fileId === '') throw invalidArgument('file_id is required');
  for (const [field, value] of [
    ['client_id', request.clientId],
    ['file_id', request.fileId],
  ] as const) {
    if (Buffer.byteLength(value, 'utf8') > MAX_ID_BYTES)
      throw invalidArgument(`${field} is too long`);
  }
  const id = { clientId: request.clientId, fileId: request.fileId };
  return { ...id, key: transferKey(id) };
}

/**
 * Redis is the truth: without it, or while it is being rebuilt after it lost its data (when
 * "not found" would mean nothing), no RPC can answer, and callers should retry.
 */
export async function requireState(ctx: ControlContext): Promise<void> {
  if (!redisReady(ctx.redis)) throw unavailable(`Redis is not connected (${ctx.redis.status})`);
  if (!(await ctx.stateIsWhole())) {
    throw unavailable(
      'the transfer state is being rebuilt after Redis lost its data; retry shortly',
    );
  }
}

export function requireTime(scope: CallScope): void {
  if (Date.now() >= scope.deadline) throw deadlineExceeded();
}

/** The transfer's record; NOT_FOUND when Redis knows no such transfer (or it expired). */
export async function loadTransfer(
  ctx: ControlContext,
  id: TransferId & { key: string },
): Promise<TransferRecord> {
  await requireState(ctx);
  const record = await ctx.queries.get(id.key);
  if (!record)
    throw notFound(
      `no transfer for client_id ${JSON.stringify(id.clientId)}, file_id ${JSON.stringify(id.fileId)}`,
    );
  return record;
}

/** The filters List and Watch share. */
export interface TransferFilter {
  clientId: string | undefined;
  states: ReadonlySet<TransferState>;
  updatedAfterMs: number | undefined;
  updatedBeforeMs: number | undefined;
}

export function parseFilter(request: {
  clientId?: string | undefined;
  states: TransferState[];
  updatedAfter?: Timestamp | undefined;
  updatedBefore?: Timestamp | undefined;
}): TransferFilter {
  if (request.clientId === '') throw invalidArgument('client_id, when given, must not be empty');
  for (const state of request.states) {
    if (
      typeof TransferState[state] !== 'string' ||
      state === TransferState.TRANSFER_STATE_UNSPECIFIED
    )
      throw invalidArgument(`states: unknown state ${state}`);
  }
  const filter: TransferFilter = {
    clientId: request.clientId,
    states: new Set(request.states),
    updatedAfterMs: request.updatedAfter ? millisOf(request.updatedAfter) : undefined,
    updatedBeforeMs: request.updatedBefore ? millisOf(request.updatedBefore) : undefined,
  };
  if (
    filter.updatedAfterMs !== undefined &&
    filter.updatedBeforeMs !== undefined &&
    filter.updatedAfterMs >= filter.updatedBeforeMs
  ) {
    throw invalidArgument('updated_after must be before updated_before');
  }
  return filter;
}

/** Whether a transfer (as the API shows it) passes the filter. */
export function matches(
  filter: TransferFilter,
  transfer: Transfer,
  record: TransferRecord,
): boolean {
  if (filter.clientId !== undefined && record.clientId !== filter.clientId) return false;
  if (filter.states.size > 0 && !filter.states.has(transfer.state)) return false;
  const updated = record.updatedAt ?? record.createdAt ?? 0;
  if (filter.updatedAfterMs !== undefined && updated < filter.updatedAfterMs) return false;
  if (filter.updatedBeforeMs !== undefined && updated >= filter.updatedBeforeMs) return false;
  return true;
}
