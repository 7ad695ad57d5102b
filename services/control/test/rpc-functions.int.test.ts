import {
  ListTransfersRequest,
  TransferState,
  WatchEventType,
  WatchTransfersRequest,
  type WatchTransfersResponse,
} from '@mqft/api';
import { createLogger } from '@mqft/config';
import { TransferQueries } from '@mqft/state';
import { createStorage } from '@mqft/storage';
import { waitFor } from '@mqft/test-support';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openScope, type ControlContext } from '../src/context.js';
import { getTransfer } from '../src/rpc/get-transfer.js';
import { listTransfers } from '../src/rpc/list-transfers.js';
import { watchTransfers } from '../src/rpc/watch-transfers.js';
import { Harness } from './harness.js';

/** The RPC functions called directly, with a context of real connections and no gRPC. */
describe('RPC functions without a network call around them', () => {
  let h: Harness;
  let ctx: ControlContext;
  beforeAll(async () => {
    h = await Harness.start();
    const queries = new TransferQueries(h.redis, h.prefix);
    ctx = {
      settings: { stream: h.stream, layout: 'emqx', downloadUrlTtlMs: 60_000, abortWaitMs: 1000 },
      redis: h.redis,
      queries,
      nc: h.nc,
      js: jetstream(h.nc),
      storage: createStorage(`file://${h.dataDir}`),
      logger: createLogger('rpc-test', 'silent'),
      now: Date.now,
      stateIsWhole: () => queries.stateIsWhole(),
    };
  });
  afterAll(() => h?.close());

  it('getTransfer and listTransfers', async () => {
    const key = await h.seedReceiving('fn-dev', 'a');
    expect(
      (await getTransfer(ctx, { clientId: 'fn-dev', fileId: 'a' }, openScope())).transfer?.key,
    ).toBe(key);
    const page = await listTransfers(
      ctx,
      ListTransfersRequest.fromPartial({ clientId: 'fn-dev' }),
      openScope(),
    );
    expect(page.transfers.map((t) => t.key)).toEqual([key]);
  });

  it('watchTransfers sends to a plain callback and returns when cancelled', async () => {
    const key = await h.seedReceiving('fn-watch', 'a');
    const received: WatchTransfersResponse[] = [];
    const controller = new AbortController();
    const scope = { deadline: Infinity, signal: controller.signal };
    const done = watchTransfers(
      ctx,
      WatchTransfersRequest.fromPartial({ clientId: 'fn-watch' }),
      scope,
      (m) => {
        received.push(m);
        return Promise.resolve();
      },
    );
    await waitFor(() =>
      received.some((m) => m.type === WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT_COMPLETE),
    );
    await h.abortAsAssembler(key, 'fn-watch', 'a');
    await waitFor(() => received.some((m) => m.type === WatchEventType.WATCH_EVENT_TYPE_CHANGED));
    expect(received.map((m) => [m.type, m.transfer?.state])).toEqual([
      [WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT, TransferState.TRANSFER_STATE_RECEIVING],
      [WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT_COMPLETE, undefined],
      [WatchEventType.WATCH_EVENT_TYPE_CHANGED, TransferState.TRANSFER_STATE_ABORTED],
    ]);
    controller.abort();
    await expect(done).resolves.toBeUndefined();
  });
});
