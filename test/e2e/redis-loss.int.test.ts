import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { startMqftStack, waitFor, type MqftStack } from '@mqft/test-support';
import { TestDevice, sha256 } from './device.js';

let stack: MqftStack;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqft-redis-loss-'));
  stack = await startMqftStack({
    storage: `file://${dir}`,
    ingests: 1,
    assemblers: 2,
    ownRedis: true, // this test wipes it
  });
});
afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The assemblers' durable consumer (services/assembler ASSEMBLER_DURABLE) has nothing left. */
async function allRecorded(): Promise<boolean> {
  const nc = await natsConnect({ servers: stack.env.MQFT_NATS_URL?.split(',') ?? [] });
  try {
    const info = await (
      await jetstreamManager(nc)
    ).consumers.info(stack.stream, 'assembler-headers');
    return info.num_pending === 0 && info.num_ack_pending === 0;
  } finally {
    await nc.close();
  }
}

it('rebuilds the state of unfinished transfers from the stream after Redis lost everything', async () => {
  const device = await TestDevice.connect(stack.mqttUrl);
  try {
    const data = randomBytes(2 * 1024 * 1024);
    const half = data.length / 2;
    expect(await device.init('survivor', { name: 's.bin' })).toMatchObject({ reason_code: 0 });
    for (let offset = 0; offset < half; offset += 65536)
      await device.segment('survivor', offset, data.subarray(offset, offset + 65536));
    // Once the assemblers have recorded (and so acked) all that is in the stream, lose it all.
    await waitFor(allRecorded, { what: "the assemblers' consumer to have acked everything" });
    await stack.redis?.kill();
    await stack.redis?.restart();
    for (let offset = half; offset < data.length; offset += 65536)
      await device.segment('survivor', offset, data.subarray(offset, offset + 65536));
    const result = await device.fin('survivor', data.length, sha256(data), 30_000);
    expect(result).toMatchObject({ reason_code: 0 });
    expect(sha256(await readFile(fileURLToPath(result.location as string)))).toBe(sha256(data));
  } finally {
    await device.close();
  }
});
