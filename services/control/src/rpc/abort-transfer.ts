import { TransferState, type AbortTransferRequest, type AbortTransferResponse } from '@mqft/api';
import {
  ANONYMOUS_CLIENT_ID,
  formatTopic,
  RESPONSE_TOPIC_ROOT,
  type TransferId,
} from '@mqft/protocol';
import type { TransferRecord } from '@mqft/state';
import { commandSubject, encodeCommandHeaders, eventSubject, type ReplyTo } from '@mqft/stream';
import type { CallScope, ControlContext } from '../context.js';
import { deadlineExceeded, failedPrecondition, invalidArgument } from '../errors.js';
import { toTransfer } from '../transfer-mapping.js';
import { loadTransfer, requireTime, requireTransferId } from './common.js';

/** Re-read the transfer at least this often while waiting, in case an event is missed. */
const POLL_MS = 250;
/** The publish's own timeout at most; less when the deadline is nearer. */
const PUBLISH_TIMEOUT_MS = 5_000;

/**
 * AbortTransfer: puts an abort command into the JetStream stream, as ingest does for a
 * device's abort, so the assembler carries it out the same way (state, segments, unfinished
 * upload, quota) and the device gets the abort's result on its response topic. Then waits
 * (at most MQFT_ABORT_WAIT, and never past the deadline) for the transfer to be ABORTED.
 */
export async function abortTransfer(
  ctx: ControlContext,
  request: AbortTransferRequest,
  scope: CallScope,
): Promise<AbortTransferResponse> {
  const id = requireTransferId(request);
  const record = await loadTransfer(ctx, id);
  if (record.state === 'aborted') return { transfer: toTransfer(record, ctx.now()) };
  if (record.state === 'complete')
    throw failedPrecondition('the transfer is complete; a complete transfer cannot be aborted');
  if (record.state === 'failed')
    throw failedPrecondition('the transfer failed; a failed transfer cannot be aborted');
  requireTime(scope);

  const waitUntil = Math.min(scope.deadline, Date.now() + ctx.settings.abortWaitMs);
  const changed = ctx.nc.subscribe(eventSubject(ctx.settings.stream, id.key), { max: 1000 });
  try {
    await ctx.js.publish(commandSubject(ctx.settings.stream, id.key), new Uint8Array(0), {
      headers: encodeCommandHeaders({ kind: 'abort', key: id.key, reply: abortReply(ctx, id) }),
      expect: { streamName: ctx.settings.stream },
      timeout: Math.max(1, Math.min(PUBLISH_TIMEOUT_MS, scope.deadline - Date.now())),
    });
    ctx.logger.info(
      { key: id.key, clientId: id.clientId, fileId: id.fileId },
      'abort requested through the API',
    );
    const after = await waitForAbort(ctx, id, waitUntil, changed[Symbol.asyncIterator]());
    if (after.state === 'complete')
      throw failedPrecondition('the transfer completed before the abort took effect');
    if (after.state === 'failed')
      throw failedPrecondition('the transfer failed before the abort took effect');
    const transfer = toTransfer(after, ctx.now());
    if (transfer.state !== TransferState.TRANSFER_STATE_ABORTED && Date.now() >= scope.deadline)
      throw deadlineExceeded('the abort is queued, but was not carried out before the deadline');
    return { transfer };
  } finally {
    changed.unsubscribe();
  }
}

/** Where the device's abort result goes: its response topic, unless it is anonymous. */
function abortReply(ctx: ControlContext, id: TransferId): ReplyTo {
  const command = {
    kind: 'abort' as const,
    root: '$file' as const,
    clientId: id.clientId,
    fileId: id.fileId,
  };
  let deviceTopic: string;
  try {
    deviceTopic = formatTopic(command, ctx.settings.layout);
  } catch {
    // The anonymous namespace has no scoped topic; the topic is only echoed in the result.
    try {
      deviceTopic = formatTopic(command, 'emqx');
    } catch (err) {
      throw invalidArgument(`file_id cannot be a topic level: ${(err as Error).message}`);
    }
  }
  const reply: ReplyTo = { deviceTopic };
  if (id.clientId !== ANONYMOUS_CLIENT_ID)
    reply.responseTopic = `${RESPONSE_TOPIC_ROOT}/${id.clientId}`;
  return reply;
}

/** Re-reads the transfer on each event (and every POLL_MS) until it is final or time is up. */
async function waitForAbort(
  ctx: ControlContext,
  id: TransferId & { key: string },
  until: number,
  events: AsyncIterator<unknown>,
): Promise<TransferRecord> {
  let pendingEvent: Promise<unknown> | undefined;
  for (;;) {
    const record = await loadTransfer(ctx, id);
    const remaining = until - Date.now();
    if (record.state === 'aborted' || record.state === 'complete' || record.state === 'failed')
      return record;
    if (remaining <= 0) return record;
    pendingEvent ??= events.next().finally(() => {
      pendingEvent = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise((resolve) => {
      timer = setTimeout(resolve, Math.min(POLL_MS, remaining));
    });
    await Promise.race([pendingEvent, tick]);
    clearTimeout(timer);
  }
}
