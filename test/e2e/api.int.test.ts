import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientReadableStream } from '@grpc/grpc-js';
import {
  ListTransfersRequest,
  type AbortTransferResponse,
  type GetDownloadUrlResponse,
  type GetTransferResponse,
  type ListTransfersResponse,
  type TransferServiceClient,
  WatchTransfersRequest,
  TransferState,
  WatchEventType,
  type Transfer,
  type WatchTransfersResponse,
} from '@mqft/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMqftStack, waitFor, type MqftStack } from '@mqft/test-support';
import { TestDevice, sha256 } from './device.js';
import { call, stackApiClient } from '../harness/api-client.js';

describe('the gRPC API over a running stack', () => {
  let stack: MqftStack;
  let dir: string;
  let api: TransferServiceClient;
  let device: TestDevice;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-api-'));
    stack = await startMqftStack({
      storage: `file://${dir}`,
      ingests: 1,
      assemblers: 1,
      control: true,
      env: { MQFT_FIN_GRACE: '1s' },
    });
    api = stackApiClient(stack);
    device = await TestDevice.connect(stack.mqttUrl);
  });
  afterAll(async () => {
    api?.close();
    await device?.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const get = async (fileId: string): Promise<Transfer | undefined> =>
    (
      await call<GetTransferResponse>((done) =>
        api.getTransfer({ clientId: device.clientId, fileId }, done),
      )
    ).transfer;

  it('shows an upload through Get, List and Watch in every state it passes, and serves its bytes', async () => {
    const seen: WatchTransfersResponse[] = [];
    const watch: ClientReadableStream<WatchTransfersResponse> = api.watchTransfers(
      WatchTransfersRequest.fromPartial({ clientId: device.clientId }),
    );
    watch.on('data', (event: WatchTransfersResponse) => seen.push(event));
    watch.on('error', () => undefined);
    await waitFor(
      () => seen.some((e) => e.type === WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT_COMPLETE),
      { what: 'snapshot' },
    );

    const data = randomBytes(3 * 1024 * 1024);
    await device.init('watched', { name: 'w.bin', size: data.length, user_data: { camera: 7 } });
    await device.segment('watched', 0, data.subarray(0, 1024 * 1024));
    // Ingest answered once the segment was durable; the assembler records it a moment later.
    await waitFor(async () => (await get('watched'))?.bytesReceived === 1024 * 1024, {
      what: 'segment recorded',
    });
    expect(await get('watched')).toMatchObject({
      state: TransferState.TRANSFER_STATE_RECEIVING,
      name: 'w.bin',
      bytesReceived: 1024 * 1024,
    });
    // A fin with a gap fails after the grace and lists what is missing.
    const failed = await device.fin('watched', data.length);
    expect(failed.reason_description).toBe('incomplete');
    const afterFail = await get('watched');
    expect(afterFail?.missing).toEqual([{ start: 1024 * 1024, end: data.length }]);
    await device.segment('watched', 1024 * 1024, data.subarray(1024 * 1024));
    const done = await device.fin('watched', data.length, sha256(data));
    expect(done.reason_code).toBe(0);

    const complete = await get('watched');
    expect(complete).toMatchObject({
      state: TransferState.TRANSFER_STATE_COMPLETE,
      checksum: sha256(data),
      location: done.location,
    });
    expect(complete?.userData).toEqual({ camera: 7 });
    const listed = await call<ListTransfersResponse>((done) =>
      api.listTransfers(
        ListTransfersRequest.fromPartial({ clientId: device.clientId, pageSize: 10 }),
        done,
      ),
    );
    expect(listed.transfers.map((t) => t.fileId)).toContain('watched');

    await waitFor(
      () =>
        seen.some(
          (e) =>
            e.transfer?.fileId === 'watched' &&
            e.transfer.state === TransferState.TRANSFER_STATE_COMPLETE,
        ),
      { what: 'complete event' },
    );
    const states = seen
      .filter((e) => e.transfer?.fileId === 'watched')
      .map((e) => e.transfer?.state);
    expect(states).toContain(TransferState.TRANSFER_STATE_RECEIVING);
    expect(states).toContain(TransferState.TRANSFER_STATE_COMPLETE);
    watch.cancel();

    const url = await call<GetDownloadUrlResponse>((done) =>
      api.getDownloadUrl(
        {
          clientId: device.clientId,
          fileId: 'watched',
          ttl: undefined,
        },
        done,
      ),
    );
    expect(sha256(await readFile(fileURLToPath(url.url)))).toBe(sha256(data));
  });

  it('aborts an upload in progress: the device gets its abort result and cannot finish', async () => {
    await device.init('stopped', { name: 's.bin' });
    await device.segment('stopped', 0, randomBytes(1000));
    const deviceAnswer = device.result('$file/stopped/abort');
    const aborted = await call<AbortTransferResponse>((done) =>
      api.abortTransfer(
        {
          clientId: device.clientId,
          fileId: 'stopped',
        },
        done,
      ),
    );
    expect(aborted.transfer?.state).toBe(TransferState.TRANSFER_STATE_ABORTED);
    expect(await deviceAnswer).toMatchObject({ reason_code: 0 });
    expect(await device.fin('stopped', 1000)).toMatchObject({
      reason_code: 0x83,
      reason_description: 'aborted',
    });
  });
});
