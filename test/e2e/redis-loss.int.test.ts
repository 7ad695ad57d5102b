import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqftStack, startRedis, type MqftStack, type ServerHandle } from '@mqft/test-support';
import { TestDevice, sha256 } from './device.js';

let redis: ServerHandle;
let stack: MqftStack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqft-redis-loss-'));
  redis = await startRedis(); // its own: this test wipes it
  stack = await startMqftStack({
    storage: `file://${dir}`,
    ingests: 1,
    assemblers: 2,
    redisUrl: redis.url,
  });
});
afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('rebuilds the state of unfinished transfers from the stream after Redis lost everything', async () => {
  const device = await TestDevice.connect(stack.mqttUrl);
  try {
    const data = randomBytes(2 * 1024 * 1024);
    const half = data.length / 2;
    expect(await device.init('survivor', { name: 's.bin' })).toMatchObject({ reason_code: 0 });
    for (let offset = 0; offset < half; offset += 65536)
      await device.segment('survivor', offset, data.subarray(offset, offset + 65536));
    // Let the assemblers record what is in the stream, then lose it all.
    await new Promise((r) => setTimeout(r, 500));
    await redis.kill();
    await redis.restart();
    for (let offset = half; offset < data.length; offset += 65536)
      await device.segment('survivor', offset, data.subarray(offset, offset + 65536));
    const result = await device.fin('survivor', data.length, sha256(data), 30_000);
    expect(result).toMatchObject({ reason_code: 0 });
    expect(sha256(await readFile(fileURLToPath(result.location as string)))).toBe(sha256(data));
  } finally {
    await device.close();
  }
});
