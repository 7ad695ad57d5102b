import { credentials, status } from '@grpc/grpc-js';
import {
  TransferServiceClient,
  TransferState,
  WatchEventType,
  type Timestamp,
  type WatchTransfersRequest,
} from '@mqft/api';
import { createLogger } from '@mqft/config';
import { expectQuiet, sharedNatsUrl, sharedRedisUrl, waitFor } from '@mqft/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadControlConfig } from '../src/config.js';
import { startControl } from '../src/control.js';
import { Harness, TTL_MS, Watch } from './harness.js';

describe('control API: WatchTransfers', () => {
  let h: Harness;
  const watches: Watch[] = [];
  const watch = (request: Partial<WatchTransfersRequest>, client = h.client) => {
    const w = new Watch(client, request, h.metadata());
    watches.push(w);
    return w;
  };
  beforeAll(async () => {
    h = await Harness.start();
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await h?.close();
  });

  it('sends the snapshot, then a change announced by an event, for the watched client only', async () => {
    const k1 = await h.seedReceiving('w-dev', 'a', { bytes: 10 });
    const k2 = await h.seedReceiving('w-dev', 'b');
    const other = await h.seedReceiving('w-other', 'a');
    const w = watch({ clientId: 'w-dev' });
    await waitFor(() => w.snapshotDone, { what: 'the snapshot' });
    expect(w.ofType(WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT).map((t) => t?.key)).toEqual([k1, k2]);
    expect(w.messages.at(-1)?.transfer).toBeUndefined();

    await h.store.recordSegment(k2, {
      offset: 0,
      seq: 9,
      length: 33,
      now: Date.now(),
      ttlMs: TTL_MS,
      create: true,
    });
    h.publishEvent(other, 'receiving');
    h.publishEvent(k2, 'receiving');
    await waitFor(() => w.ofType(WatchEventType.WATCH_EVENT_TYPE_CHANGED).length > 0, {
      what: 'a change',
    });
    const [changed] = w.ofType(WatchEventType.WATCH_EVENT_TYPE_CHANGED);
    expect(changed).toMatchObject({
      key: k2,
      bytesReceived: 33,
      state: TransferState.TRANSFER_STATE_RECEIVING,
    });
    // The other client's change never shows.
    await expectQuiet(200, () =>
      expect(w.ofType(WatchEventType.WATCH_EVENT_TYPE_CHANGED).map((t) => t?.key)).toEqual([k2]),
    );
  });

  it('filters by state: a transfer that becomes complete shows up', async () => {
    const w = watch({ states: [TransferState.TRANSFER_STATE_COMPLETE], clientId: 'w-state' });
    await waitFor(() => w.snapshotDone);
    expect(w.ofType(WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT)).toEqual([]);
    const receiving = await h.seedReceiving('w-state', 'r');
    h.publishEvent(receiving, 'receiving');
    const done = await h.seedComplete('w-state', 'c', Buffer.from('xyz'));
    h.publishEvent(done, 'complete');
    await waitFor(() => w.ofType(WatchEventType.WATCH_EVENT_TYPE_CHANGED).length > 0);
    // The receiving one never shows.
    await expectQuiet(100, () =>
      expect(
        w.ofType(WatchEventType.WATCH_EVENT_TYPE_CHANGED).map((t) => [t?.key, t?.state]),
      ).toEqual([[done, TransferState.TRANSFER_STATE_COMPLETE]]),
    );
  });

  it('a client whose replica stops reconnects to another and loses nothing', async () => {
    const key = await h.seedReceiving('w-move', 'f', { bytes: 1 });
    // A second replica over the same Redis and NATS.
    const config = loadControlConfig({
      MQFT_GRPC_ADDR: '127.0.0.1:0',
      MQFT_HTTP_API_ADDR: '127.0.0.1:0',
      MQFT_REDIS_URL: sharedRedisUrl(),
      MQFT_NATS_URL: sharedNatsUrl(),
      MQFT_REDIS_PREFIX: h.prefix,
      MQFT_STREAM: h.stream,
      MQFT_STORAGE: `file://${h.dataDir}`,
    });
    const replica = await startControl(config, createLogger('replica', 'silent'));
    const replicaClient = new TransferServiceClient(
      `127.0.0.1:${replica.port}`,
      credentials.createInsecure(),
    );
    try {
      const first = watch({ clientId: 'w-move' }, replicaClient);
      await waitFor(() => first.snapshotDone);
      const seen = first.ofType(WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT)[0];
      expect(seen?.bytesReceived).toBe(1);
      await replica.stop(1000);
      await waitFor(() => first.error !== undefined || first.ended, { what: 'the watch to end' });
      expect(first.error?.code).toBe(status.UNAVAILABLE);

      // While no one watches, the transfer changes and its event goes unheard.
      await h.store.recordSegment(key, {
        offset: 1,
        seq: 5,
        length: 4,
        now: Date.now() + 5,
        ttlMs: TTL_MS,
        create: true,
      });
      h.publishEvent(key, 'receiving');

      const since = seen?.updateTime as Timestamp;
      const second = watch({ clientId: 'w-move', updatedAfter: since });
      await waitFor(() => second.snapshotDone);
      expect(second.ofType(WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT)).toEqual([
        expect.objectContaining({ key, bytesReceived: 5 }),
      ]);
    } finally {
      replicaClient.close();
      await replica.stop(100);
    }
  });

  it('ends with UNAUTHENTICATED or INVALID_ARGUMENT before streaming anything', async () => {
    const secured = await Harness.start({ tokens: ['tok'] });
    try {
      const w = new Watch(secured.client, {}, secured.metadata(null));
      await waitFor(() => w.error !== undefined);
      expect(w.error?.code).toBe(status.UNAUTHENTICATED);
      expect(w.messages).toEqual([]);
    } finally {
      await secured.close();
    }
    const bad = watch({ clientId: '' });
    await waitFor(() => bad.error !== undefined);
    expect(bad.error?.code).toBe(status.INVALID_ARGUMENT);
  });
});
