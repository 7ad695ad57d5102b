import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upload, type Upload } from '@mqft/client';
import type { ResultMessage } from '@mqft/protocol';
import { waitFor } from '@mqft/test-support';
import { sha256 } from '../e2e/device.js';
import { HostileHarness, type RawDevice } from './harness.js';

// Issue 14, cases 5 and 6: a stream with a byte limit, and flow control. The stream holds at
// most 1 MiB; ingest answers inits and segments 0x97 busy above 90 % of it, the assemblers
// answer inits of NEW transfers busy above 40 %. A device fills the stream with two transfers
// that have no fin yet (nothing can be assembled, nothing freed), by 32 KiB segments; each
// stays below 90 % of the stream (a larger file could never be stored: file_too_large).

const KiB = 1024;
const SEGMENT = 32 * KiB;
const BUSY = 0x97;

describe('backpressure: a bounded stream, busy answers, running transfers first', () => {
  let h: HostileHarness;
  let runner: RawDevice;
  let newcomer: RawDevice;
  // Two files of the running device, each up to 28 segments (below 90 % of 1 MiB).
  const files = { 'run-1': randomBytes(28 * SEGMENT), 'run-2': randomBytes(28 * SEGMENT) };
  const acked = { 'run-1': 0, 'run-2': 0 }; // segments answered success, in order
  // The SDK device that starts while the cluster is behind.
  let sdkClient: MqttClient;
  let sdkUpload: Upload;
  const sdkResults: ResultMessage[] = [];
  const sdkData = randomBytes(100 * KiB);

  beforeAll(async () => {
    h = await HostileHarness.start({
      env: {
        MQFT_STREAM_MAX_BYTES: '1MiB',
        MQFT_STREAM_FULL_PERCENT: '90',
        MQFT_BUSY_STREAM_PERCENT: '40',
      },
    });
    runner = await h.device();
    newcomer = await h.device();
  });
  afterAll(async () => {
    await sdkClient?.endAsync(true);
    await h?.stop();
  });

  const segment = (fileId: keyof typeof files, i: number) =>
    runner.send(
      `$file/${fileId}/${i * SEGMENT}`,
      files[fileId].subarray(i * SEGMENT, (i + 1) * SEGMENT),
    );

  it('above the high-water mark, an init of a new transfer gets 0x97 busy; the running transfer goes on', async () => {
    const init = JSON.stringify({ name: 'run.bin' });
    expect(await runner.send('$file/run-1/init', init)).toMatchObject({ reason_code: 0 });
    expect(await runner.send('$file/run-2/init', init)).toMatchObject({ reason_code: 0 });
    // 16 × 32 KiB: about half of the stream, above 40 %, below 90 %.
    for (; acked['run-1'] < 16; acked['run-1']++) {
      expect(await segment('run-1', acked['run-1'])).toMatchObject({ reason_code: 0 });
    }
    const assembler = h.stack.assemblers[0]!;
    await waitFor(async () => (await h.logs(assembler)).some((l) => l.includes('cluster behind')), {
      timeoutMs: 10_000,
      what: 'the assembler to see the stream behind',
    });

    const refused = await newcomer.send('$file/new-1/init', JSON.stringify({ name: 'n.bin' }));
    expect(refused).toMatchObject({ reason_code: BUSY, reason_description: 'busy' });

    // A resume of the running transfer (its init again) and more of its segments go through.
    expect(await runner.send('$file/run-1/init', init)).toMatchObject({ reason_code: 0 });
    expect(await segment('run-1', acked['run-1'])).toMatchObject({ reason_code: 0 });
    acked['run-1']++;

    // The SDK, starting now, is told busy and backs off (it keeps its connection).
    const clientId = `sdk-${randomBytes(3).toString('hex')}`;
    sdkClient = await connectAsync(h.mqttUrl, { clientId, protocolVersion: 5, clean: true });
    sdkClient.on('message', (_topic, payload) => {
      sdkResults.push(JSON.parse(payload.toString('utf8')) as ResultMessage);
    });
    sdkUpload = upload(sdkClient, sdkData, {
      fileId: 'sdk-1',
      name: 'sdk.bin',
      segmentSize: SEGMENT,
      retry: { backoffMs: 200, backoffCapMs: 1000, busyTimeoutMs: 120_000 },
    });
    sdkUpload.done.catch(() => undefined);
    await waitFor(() => sdkResults.some((r) => r.reason_code === BUSY), {
      timeoutMs: 10_000,
      what: "the SDK's init to be answered busy",
    });
    expect(sdkResults.filter((r) => r.reason_code === 0)).toEqual([]);
  });

  it('a full stream answers segments 0x97 busy at once (not unavailable, not silence)', async () => {
    // The second running transfer goes on until the stream is full.
    let refusal: ResultMessage | undefined;
    for (; acked['run-2'] < 28; acked['run-2']++) {
      const result = await segment('run-2', acked['run-2']); // within 10 s, or it throws
      if (result.reason_code !== 0) {
        refusal = result;
        break;
      }
    }
    expect(refusal).toMatchObject({ reason_code: BUSY, reason_description: 'busy' });
    // Before the stream's own limit (1 MiB): at 90 % of it.
    const stored = (acked['run-1'] + acked['run-2']) * SEGMENT;
    expect(stored).toBeGreaterThan(0.8 * 1024 * KiB);
    expect(stored).toBeLessThan(1024 * KiB);
    expect(await h.streamBytes()).toBeLessThanOrEqual(1024 * KiB);
    // Still full a moment later: another segment, another busy.
    expect(await segment('run-2', acked['run-2'])).toMatchObject({ reason_code: BUSY });
    expect(runner.client.connected).toBe(true);
  });

  it('every acknowledged segment is assembled; then the pressure clears and new transfers start', async () => {
    // fin passes a full stream: it is what lets the cluster finish and free room.
    for (const fileId of ['run-1', 'run-2'] as const) {
      const stored = files[fileId].subarray(0, acked[fileId] * SEGMENT);
      const fin = await runner.send(
        `$file/${fileId}/fin/${stored.length}/${sha256(stored)}`,
        Buffer.alloc(0),
        { timeoutMs: 30_000 },
      );
      expect(fin).toMatchObject({ reason_code: 0, reason_description: 'success' });
      const location = (fin as ResultMessage & { location: string }).location;
      expect(sha256(await readFile(fileURLToPath(location)))).toBe(sha256(stored));
    }

    // The SDK's upload, refused while the cluster was behind, completes now.
    const sdk = await sdkUpload.done;
    expect(sha256(await readFile(fileURLToPath(sdk.location)))).toBe(sha256(sdkData));
    expect(sdkResults.filter((r) => r.reason_code === BUSY).length).toBeGreaterThan(0);

    // The newcomer's init, refused before, is taken now (same fileId: it was never recorded).
    await waitFor(
      async () =>
        (await newcomer.send('$file/new-1/init', JSON.stringify({ name: 'n.bin' }))).reason_code ===
        0,
      { timeoutMs: 10_000, what: 'the newcomer to be admitted' },
    );
    expect(await newcomer.send('$file/new-1/abort')).toMatchObject({ reason_code: 0 });

    await h.afterCase();
  });

  it('a file larger than the stream can ever hold is refused at init (0x83 file_too_large)', async () => {
    const huge = JSON.stringify({ name: 'huge.bin', size: 1024 * KiB });
    expect(await newcomer.send('$file/huge-1/init', huge)).toMatchObject({
      reason_code: 0x83,
      reason_description: 'file_too_large',
    });
  });
});
