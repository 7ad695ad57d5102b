import type { ListTransfersRequest, ListTransfersResponse, Transfer } from '@mqft/api';
import type { IndexCursor } from '@mqft/state';
import type { CallScope, ControlContext } from '../context.js';
import { invalidArgument } from '../errors.js';
import { decodePageToken, encodePageToken, filterFingerprint } from '../page-token.js';
import { toTransfer } from '../transfer-mapping.js';
import { matches, parseFilter, requireState, requireTime, type TransferFilter } from './common.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** Index entries one call looks at at most; a sparse filter then returns a short page. */
export const SCAN_BUDGET = 10_000;
/** Time kept back before the deadline to answer with what was found so far. */
const DEADLINE_MARGIN_MS = 100;

/**
 * ListTransfers: walks the created index (all transfers, or one client's) in (creation time,
 * key) order from the page token's position. An entry never moves once listed, so paging
 * neither skips nor repeats a transfer whatever is created or updated meanwhile; transfers
 * created during the listing appear on a later page (or not, if created "before" the
 * position by a clock running behind). Filters on state and update time are applied to the
 * transfers read, so a page may be short while more follow.
 */
export async function listTransfers(
  ctx: ControlContext,
  request: ListTransfersRequest,
  scope: CallScope,
): Promise<ListTransfersResponse> {
  const filter = parseFilter(request);
  const pageSize = pageSizeOf(request.pageSize);
  const fingerprint = filterFingerprint({ ...filter, states: [...filter.states] });
  let cursor =
    request.pageToken === '' ? undefined : decodePageToken(request.pageToken, fingerprint);
  await requireState(ctx);
  const transfers: Transfer[] = [];
  const token = (at: IndexCursor | undefined) =>
    at === undefined ? '' : encodePageToken(at, fingerprint);
  let scanned = 0;
  for (;;) {
    requireTime(scope);
    const limit = batchSize(filter, pageSize - transfers.length);
    const scan = await ctx.queries.scanCreated({ clientId: filter.clientId, after: cursor, limit });
    const now = ctx.now();
    for (const [i, entry] of scan.entries.entries()) {
      const transfer = toTransfer(entry.record, now);
      if (matches(filter, transfer, entry.record)) transfers.push(transfer);
      if (transfers.length === pageSize) {
        const last =
          scan.done && i === scan.entries.length - 1 && scan.cursor?.key === entry.record.key;
        return {
          transfers,
          nextPageToken: last ? '' : token({ score: entry.score, key: entry.record.key }),
        };
      }
    }
    cursor = scan.cursor;
    scanned += limit;
    if (scan.done) return { transfers, nextPageToken: '' };
    if (scanned >= SCAN_BUDGET || Date.now() >= scope.deadline - DEADLINE_MARGIN_MS) {
      return { transfers, nextPageToken: token(cursor) };
    }
  }
}

function pageSizeOf(requested: number): number {
  if (requested < 0) throw invalidArgument('page_size must not be negative');
  if (requested > MAX_PAGE_SIZE)
    throw invalidArgument(`page_size must be at most ${MAX_PAGE_SIZE}`);
  return requested === 0 ? DEFAULT_PAGE_SIZE : requested;
}

/** Without filters every live entry counts; with them, read ahead in larger batches. */
function batchSize(filter: TransferFilter, wanted: number): number {
  const filtered =
    filter.states.size > 0 ||
    filter.updatedAfterMs !== undefined ||
    filter.updatedBeforeMs !== undefined;
  return Math.min(MAX_PAGE_SIZE, filtered ? Math.max(wanted, 250) : wanted);
}
