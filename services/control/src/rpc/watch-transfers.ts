import { WatchEventType, type WatchTransfersRequest, type WatchTransfersResponse } from '@mqft/api';
import { eventSubject, eventSubjects, keyOfSubject } from '@mqft/stream';
import type { IndexCursor } from '@mqft/state';
import type { CallScope, ControlContext } from '../context.js';
import { RpcError } from '../errors.js';
import { toTransfer } from '../transfer-mapping.js';
import { matches, parseFilter, requireState, type TransferFilter } from './common.js';

/** Where a watch's messages go; send() resolves when the caller may send the next one. */
export type WatchSend = (message: WatchTransfersResponse) => Promise<void>;

const SNAPSHOT_BATCH = 500;
/** Transfers re-read from Redis at once after events. */
const CHANGE_BATCH = 256;

/**
 * WatchTransfers: subscribes to the assembler's events FIRST, then sends the snapshot (every
 * matching transfer, read from Redis), then SNAPSHOT_COMPLETE, then each changed transfer as
 * re-read from Redis. Changes during the snapshot wait in the queue, so none is lost between
 * the two; events are hints and coalesce per transfer (a burst of changes of one transfer
 * yields its latest state). Without `options.snapshot` (the HTTP event stream's default) the
 * snapshot is left out and SNAPSHOT_COMPLETE only says the subscription is in place. Returns when the scope is cancelled; throws the cancellation's
 * reason when it is an RpcError (server shutting down, NATS lost).
 */
export async function watchTransfers(
  ctx: ControlContext,
  request: WatchTransfersRequest,
  scope: CallScope,
  send: WatchSend,
  options: { snapshot: boolean } = { snapshot: true },
): Promise<void> {
  const filter = parseFilter({ ...request, updatedBefore: undefined });
  await requireState(ctx);
  const changes = new ChangeQueue();
  const subject =
    filter.clientId === undefined
      ? eventSubjects(ctx.settings.stream)
      : eventSubject(ctx.settings.stream, `${clientPart(filter.clientId)}.*`);
  const subscription = ctx.nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      const key = keyOfSubject(ctx.settings.stream, msg.subject);
      if (key !== undefined) changes.add(key);
    },
  });
  const onAbort = () => changes.wake();
  scope.signal.addEventListener('abort', onAbort);
  try {
    await ctx.nc.flush(); // the subscription is in place before the snapshot is read
    const snapshot = options.snapshot
      ? await sendSnapshot(ctx, filter, scope, send)
      : new Map<string, number | undefined>();
    await send({ type: WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT_COMPLETE, transfer: undefined });
    // Events that came during the snapshot may repeat what it showed: those are skipped.
    let seen: Map<string, number | undefined> | undefined = snapshot;
    while (!scope.signal.aborted) {
      const keys = changes.take(CHANGE_BATCH);
      if (keys.length === 0) {
        seen = undefined;
        await changes.next();
        continue;
      }
      await sendChanges(ctx, filter, keys, seen, send);
    }
  } finally {
    scope.signal.removeEventListener('abort', onAbort);
    subscription.unsubscribe();
  }
  if (scope.signal.reason instanceof RpcError) throw scope.signal.reason;
}

/** Sends every matching transfer; returns the update times it sent, by key. */
async function sendSnapshot(
  ctx: ControlContext,
  filter: TransferFilter,
  scope: CallScope,
  send: WatchSend,
): Promise<Map<string, number | undefined>> {
  const sent = new Map<string, number | undefined>();
  let after: IndexCursor | undefined;
  for (;;) {
    if (scope.signal.aborted) return sent;
    const scan = await ctx.queries.scanCreated({
      clientId: filter.clientId,
      after,
      limit: SNAPSHOT_BATCH,
    });
    const now = ctx.now();
    for (const { record } of scan.entries) {
      const transfer = toTransfer(record, now);
      if (!matches(filter, transfer, record)) continue;
      await send({ type: WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT, transfer });
      sent.set(record.key, record.updatedAt);
    }
    after = scan.cursor;
    if (scan.done) return sent;
  }
}

async function sendChanges(
  ctx: ControlContext,
  filter: TransferFilter,
  keys: string[],
  seen: Map<string, number | undefined> | undefined,
  send: WatchSend,
): Promise<void> {
  const records = await ctx.queries.getMany(keys);
  const now = ctx.now();
  for (const record of records) {
    if (!record) continue;
    if (seen?.has(record.key) && seen.get(record.key) === record.updatedAt) continue;
    // The update-time filter only bounds the snapshot: every later change is news.
    const transfer = toTransfer(record, now);
    if (!matches({ ...filter, updatedAfterMs: undefined }, transfer, record)) continue;
    await send({ type: WatchEventType.WATCH_EVENT_TYPE_CHANGED, transfer });
  }
}

function clientPart(clientId: string): string {
  return Buffer.from(clientId, 'utf8').toString('base64url');
}

/** Keys of changed transfers, each once, in arrival order; next() waits for more. */
class ChangeQueue {
  private readonly keys = new Set<string>();
  private waiter: (() => void) | undefined;

  add(key: string): void {
    this.keys.add(key);
    this.wake();
  }

  take(max: number): string[] {
    const taken: string[] = [];
    for (const key of this.keys) {
      if (taken.length === max) break;
      taken.push(key);
    }
    for (const key of taken) this.keys.delete(key);
    return taken;
  }

  next(): Promise<void> {
    if (this.keys.size > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
