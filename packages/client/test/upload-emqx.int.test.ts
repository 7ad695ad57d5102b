import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '@mqft/protocol';
import { expectQuiet, startMqftStack, waitFor, type MqftStack } from '@mqft/test-support';
import { upload, UploadError, type UploadProgress } from '../src/index.js';
import { BrokerSpy } from './broker-spy.js';

describe('SDK upload, MQTT 5, emqx layout (real pipeline)', () => {
  let stack: MqftStack;
  let dir: string;
  let device: MqttClient;
  let spy: BrokerSpy;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-sdk-'));
    stack = await startMqftStack({ storage: `file://${dir}`, env: { MQFT_FIN_GRACE: '2s' } });
    device = await connectAsync(stack.mqttUrl, {
      clientId: 'sdk-emqx',
      protocolVersion: 5,
      reconnectPeriod: 200,
    });
    spy = await BrokerSpy.start(stack.mqttUrl);
  });
  afterAll(async () => {
    await spy?.stop();
    await device?.endAsync(true);
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => spy.reset());

  const stored = async (location: string) => readFile(fileURLToPath(location));

  it('uploads byte-identical, never more than `window` segments unanswered', async () => {
    const data = randomBytes(1024 * 1024 + 123);
    const progress: UploadProgress[] = [];
    const transfer = upload(device, data, {
      fileId: 'w1',
      name: 'w1.bin',
      segmentSize: 16 * 1024,
      window: 4,
    });
    transfer.on('progress', (p) => progress.push(p));
    const result = await transfer.done;
    expect(result.location).toBe(`file://${dir}/sdk-emqx/w1/w1.bin`);
    expect(sha256Hex(await stored(result.location))).toBe(sha256Hex(data));
    expect(result).toMatchObject({ fileId: 'w1', size: data.length, checksum: sha256Hex(data) });
    expect(spy.segments).toBe(65);
    expect(spy.maxUnanswered).toBeLessThanOrEqual(4);
    expect(spy.maxUnanswered).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toMatchObject({ bytesConfirmed: data.length, fraction: 1 });
  });

  it('uploads a file path (default name) and a stream of known size', async () => {
    const data = randomBytes(300_000);
    const path = join(dir, 'source-file.dat');
    await writeFile(path, data);
    const fromPath = await upload(device, path, { fileId: 'p1' }).done;
    expect(fromPath.location).toBe(`file://${dir}/sdk-emqx/p1/source-file.dat`);
    const stream = Readable.from([data.subarray(0, 1000), data.subarray(1000)]);
    const fromStream = await upload(device, { stream, size: data.length }, { fileId: 's1' }).done;
    expect(fromStream.location).toBe(`file://${dir}/sdk-emqx/s1/s1`);
    expect(sha256Hex(await stored(fromStream.location))).toBe(sha256Hex(data));
    expect(fromStream.checksum).toBe(sha256Hex(data));
  });

  it('keeps to the bandwidth cap', async () => {
    const data = randomBytes(1024 * 1024);
    const cap = 512 * 1024;
    const started = performance.now();
    await upload(device, data, { fileId: 'bw', bandwidth: cap }).done;
    const elapsed = (performance.now() - started) / 1000;
    const segments = spy.events.filter((e) => e.kind === 'segment');
    const first = segments[0]!;
    const last = segments.at(-1)!;
    const spyRate = (spy.segmentBytes - first.bytes) / ((last.at - first.at) / 1000);
    const overallRate = data.length / elapsed;
    console.log(
      `bandwidth cap ${cap} B/s: broker saw ${spyRate.toFixed(0)} B/s, overall ${overallRate.toFixed(0)} B/s`,
    );
    expect(spyRate).toBeLessThanOrEqual(cap * 1.1);
    expect(spyRate).toBeGreaterThanOrEqual(cap * 0.9);
    // Init and fin round trips (and assembly) come on top; only a sanity bound here.
    expect(overallRate).toBeGreaterThanOrEqual(cap * 0.75);
  });

  it('pause() stops new segments until resume()', async () => {
    const data = randomBytes(1024 * 1024);
    const transfer = upload(device, data, {
      fileId: 'pz',
      segmentSize: 16 * 1024,
      window: 2,
      bandwidth: 2 * 1024 * 1024,
    });
    const pauseOnce = (p: UploadProgress) => {
      if (p.fraction < 0.25) return;
      transfer.off('progress', pauseOnce);
      transfer.pause();
    };
    transfer.on('progress', pauseOnce);
    await waitFor(() => transfer.paused, { what: 'pause' });
    // The segments in flight when it paused are answered and confirmed…
    await waitFor(
      () => spy.unanswered === 0 && transfer.progress.bytesConfirmed === spy.segmentBytes,
      { what: 'the segments in flight at the pause to be confirmed' },
    );
    const confirmed = transfer.progress.bytesConfirmed;
    const segments = spy.segments;
    // …and then nothing more goes out until resume().
    await expectQuiet(700, () => {
      expect(transfer.progress.bytesConfirmed).toBe(confirmed);
      expect(spy.segments).toBe(segments);
    });
    expect(confirmed).toBeLessThan(data.length / 2);
    transfer.resume();
    const result = await transfer.done;
    expect(sha256Hex(await stored(result.location))).toBe(sha256Hex(data));
  });

  it('an AbortSignal sends abort and rejects with an AbortError', async () => {
    const data = randomBytes(1024 * 1024);
    const controller = new AbortController();
    const transfer = upload(device, data, {
      fileId: 'ab',
      signal: controller.signal,
      bandwidth: 1024 * 1024,
    });
    transfer.on('progress', (p) => {
      if (p.fraction > 0.2) controller.abort();
    });
    const error = await transfer.done.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UploadError);
    expect(error).toMatchObject({ name: 'AbortError', kind: 'aborted' });
    await waitFor(() => spy.results.some((r) => r.topic === '$file/ab/abort'), {
      what: 'abort result',
    });
    expect(spy.results.find((r) => r.topic === '$file/ab/abort')).toMatchObject({ reason_code: 0 });
    // The transfer is gone: a fin for it is refused.
    const fin = `$file/ab/fin/${data.length}`;
    await device.publishAsync(fin, '', {
      qos: 1,
      properties: { userProperties: { clientid: 'sdk-emqx' } },
    });
    await waitFor(() => spy.results.some((r) => r.topic === fin), { what: 'fin result' });
    expect(spy.results.find((r) => r.topic === fin)).toMatchObject({
      reason_code: 0x83,
      reason_description: 'aborted',
    });
  });

  it('stops sending at once when the transfer is aborted elsewhere (an operator)', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const transfer = upload(device, data, { fileId: 'op', bandwidth: 512 * 1024 });
    const operator = await connectAsync(stack.mqttUrl, { protocolVersion: 5 });
    try {
      let aborted = false;
      transfer.on('progress', (p) => {
        if (aborted || p.fraction < 0.2) return;
        aborted = true;
        // What AbortTransfer does: an abort command of this device's transfer in the stream.
        void operator.publishAsync('$file/op/abort', '', {
          qos: 1,
          properties: { userProperties: { clientid: 'sdk-emqx' } },
        });
      });
      const error = await transfer.done.catch((err: unknown) => err);
      expect(error).toMatchObject({ kind: 'rejected', reasonDescription: 'aborted' });
      // It did not send the rest of the file and then a fin to learn it.
      expect(transfer.progress.bytesConfirmed).toBeLessThan(data.length * 0.8);
      expect(spy.results.some((r) => r.topic.startsWith('$file/op/fin'))).toBe(false);
    } finally {
      await operator.endAsync(true);
    }
  });

  it('completes when the broker restarts mid-upload', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const transfer = upload(device, data, {
      fileId: 'rs',
      bandwidth: 1024 * 1024,
      resultTimeoutMs: 3000,
    });
    let restarted: Promise<void> | undefined;
    let reconnects = 0;
    const onConnect = () => (reconnects += 1);
    device.on('connect', onConnect);
    transfer.on('progress', (p) => {
      if (p.fraction > 0.3 && restarted === undefined) restarted = stack.broker!.restart();
    });
    const result = await transfer.done;
    await restarted;
    device.off('connect', onConnect);
    expect(reconnects).toBeGreaterThanOrEqual(1);
    // 32 segments + init + fin, plus whatever was in flight when the broker went away.
    expect(result.stats.commandsPublished).toBeGreaterThanOrEqual(34);
    expect(sha256Hex(await stored(result.location))).toBe(sha256Hex(data));
  });
});
