import type { GetTransferRequest, GetTransferResponse } from '@mqft/api';
import type { CallScope, ControlContext } from '../context.js';
import { toTransfer } from '../transfer-mapping.js';
import { loadTransfer, requireTransferId } from './common.js';

/** GetTransfer: one transfer, as Redis knows it now. */
export async function getTransfer(
  ctx: ControlContext,
  request: GetTransferRequest,
  _scope: CallScope,
): Promise<GetTransferResponse> {
  const record = await loadTransfer(ctx, requireTransferId(request));
  return { transfer: toTransfer(record, ctx.now()) };
}
