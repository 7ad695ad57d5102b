import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '@mqft/protocol';
import { startMqftStack, type MqftStack } from '@mqft/test-support';
import { upload, UploadError } from '../src/index.js';
import { BrokerSpy } from './broker-spy.js';

describe('SDK upload, MQTT 3.1.1, scoped layout (real pipeline)', () => {
  let stack: MqftStack;
  let dir: string;
  let device: MqttClient;
  let spy: BrokerSpy;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-sdk-'));
    stack = await startMqftStack({ storage: `file://${dir}`, layout: 'scoped' });
    device = await connectAsync(stack.mqttUrl, { clientId: 'sdk-v311', protocolVersion: 4 });
    spy = await BrokerSpy.start(stack.mqttUrl, 'scoped');
  });
  afterAll(async () => {
    await spy?.stop();
    await device?.endAsync(true);
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads byte-identical, results matched by topic', async () => {
    const data = randomBytes(700_000);
    const transfer = upload(device, data, {
      fileId: 'v3',
      name: 'v3.bin',
      layout: 'scoped',
      window: 8,
    });
    const result = await transfer.done;
    expect(result.location).toBe(`file://${dir}/sdk-v311/v3/v3.bin`);
    expect(sha256Hex(await readFile(fileURLToPath(result.location)))).toBe(sha256Hex(data));
    expect(spy.topics[0]).toBe('$file/sdk-v311/v3/init');
    expect(spy.maxUnanswered).toBeLessThanOrEqual(8);
  });

  it('two uploads share one connection and one subscription', async () => {
    const [a, b] = [randomBytes(200_000), randomBytes(150_000)];
    const results = await Promise.all([
      upload(device, a, { fileId: 'pa', layout: 'scoped' }).done,
      upload(device, b, { fileId: 'pb', layout: 'scoped' }).done,
    ]);
    expect(results.map((r) => r.checksum)).toEqual([sha256Hex(a), sha256Hex(b)]);
  });

  it('refuses the emqx layout on MQTT 3.1.1 (the cluster could not answer)', async () => {
    const error = await upload(device, Buffer.from('x')).done.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UploadError);
    expect(error).toMatchObject({ kind: 'unsupported' });
  });

  it('a refused init (0x83) fails with the reason', async () => {
    const transfer = upload(device, Buffer.from('hi'), { layout: 'scoped', name: 'a/b' });
    const error = await transfer.done.catch((err: unknown) => err);
    expect(error).toMatchObject({
      kind: 'rejected',
      reasonCode: 0x83,
      reasonDescription: 'invalid_filemeta',
    });
  });
});
