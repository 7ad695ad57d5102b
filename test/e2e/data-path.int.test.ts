import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMqftStack, type MqftStack } from '@mqft/test-support';
import { TestDevice, sha256 } from './device.js';

describe('data path, file storage, 2 ingest + 2 assembler processes', () => {
  let stack: MqftStack;
  let dir: string;
  let device: TestDevice;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-e2e-'));
    stack = await startMqftStack({
      storage: `file://${dir}`,
      ingests: 2,
      assemblers: 2,
      env: { MQFT_FIN_GRACE: '2s' },
    });
    device = await TestDevice.connect(stack.mqttUrl);
  });
  afterAll(async () => {
    await device?.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([0, 1, 1024 * 1024])('a file of %d bytes arrives byte-identical', async (size) => {
    const data = randomBytes(size);
    const fileId = `f-${size}`;
    const result = await device.upload(fileId, data, { name: 'data.bin' });
    expect(result).toMatchObject({ reason_code: 0, reason_description: 'success' });
    const location = result.location as string;
    expect(location).toBe(`file://${dir}/${device.clientId}/${fileId}/data.bin`);
    const stored = await readFile(fileURLToPath(location));
    expect(sha256(stored)).toBe(sha256(data));
  });
});
