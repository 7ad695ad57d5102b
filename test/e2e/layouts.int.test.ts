import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMqftStack, waitFor, type MqftStack } from '@mqft/test-support';
import { TestDevice, sha256 } from './device.js';

const data = randomBytes(300 * 1024);

describe('identity in the emqx layout', () => {
  let stack: MqftStack;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-layout-'));
    stack = await startMqftStack({ storage: `file://${dir}`, ingests: 1, assemblers: 1 });
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes the clientId from the Response Topic when there is no user property', async () => {
    const device = await TestDevice.connect(stack.mqttUrl, { identity: 'response-topic' });
    try {
      const result = await device.upload('by-response-topic', data);
      expect(result.location).toBe(
        `file://${dir}/${device.clientId}/by-response-topic/by-response-topic.bin`,
      );
      expect(sha256(await readFile(fileURLToPath(result.location as string)))).toBe(sha256(data));
    } finally {
      await device.close();
    }
  });

  it('stores an unchanged MQTT 3.1.1 EMQX device in the anonymous namespace (%00)', async () => {
    const device = await connectAsync(stack.mqttUrl, {
      protocolVersion: 4,
      clientId: 'legacy',
      reconnectPeriod: 0,
    });
    try {
      const fileId = `anon-${randomBytes(4).toString('hex')}`;
      await device.publishAsync(`$file/${fileId}/init`, JSON.stringify({ name: 'legacy.bin' }), {
        qos: 1,
      });
      await device.publishAsync(`$file/${fileId}/0`, data, { qos: 1 });
      await device.publishAsync(`$file/${fileId}/fin/${data.length}`, '', { qos: 1 });
      // Nobody can be answered; the file lands all the same.
      const path = join(dir, '%00', fileId, 'legacy.bin');
      let stored: Buffer | undefined;
      await waitFor(
        async () => (stored = await readFile(path).catch(() => undefined)) !== undefined,
        {
          timeoutMs: 20_000,
          what: `${path} to appear`,
        },
      );
      expect(sha256(stored ?? Buffer.alloc(0))).toBe(sha256(data));
    } finally {
      await device.endAsync();
    }
  });
});

describe('the scoped layout', () => {
  let stack: MqftStack;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-scoped-'));
    stack = await startMqftStack({
      storage: `file://${dir}`,
      ingests: 1,
      assemblers: 1,
      layout: 'scoped',
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([4, 5] as const)(
    'uploads from an MQTT %s device with the clientId in the topic',
    async (protocolVersion) => {
      const device = await TestDevice.connect(stack.mqttUrl, {
        identity: 'scoped',
        protocolVersion,
      });
      try {
        const result = await device.upload('scoped-file', data, { name: 'scoped.bin' });
        expect(result).toMatchObject({
          reason_code: 0,
          topic: `$file/${device.clientId}/scoped-file/fin/${data.length}/${sha256(data)}`,
        });
        expect(sha256(await readFile(fileURLToPath(result.location as string)))).toBe(sha256(data));
      } finally {
        await device.close();
      }
    },
  );

  it('refuses a clientId in the topic that differs from the one the device claims', async () => {
    const device = await TestDevice.connect(stack.mqttUrl, { identity: 'scoped' });
    try {
      const topic = `$file/someone-else/f/init`;
      const answer = device.result(topic, 10_000);
      await device.client.publishAsync(topic, JSON.stringify({ name: 'x' }), {
        qos: 1,
        properties: {
          userProperties: { clientid: device.clientId },
          responseTopic: `$file-response/${device.clientId}`,
        },
      });
      expect(await answer).toMatchObject({
        reason_code: 0x83,
        reason_description: 'not_authorized',
      });
    } finally {
      await device.close();
    }
  });
});
