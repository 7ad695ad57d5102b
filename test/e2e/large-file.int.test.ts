import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplePeakRss, startMqftStack, startS3Stack, type MqftStack } from '@mqft/test-support';
import { TestDevice, sha256 } from './device.js';

const SIZE = 300 * 1024 * 1024; // more than MQTT's 256 MB packet limit: only segments make it
const RSS_BOUND = 200 * 1024 * 1024;
const data = randomBytes(SIZE);
const digest = sha256(data);

async function streamDigest(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Uploads the 300 MiB file while sampling every assembler's RSS; returns fin's result and the peak. */
async function uploadWatchingMemory(stack: MqftStack, fileId: string) {
  const device = await TestDevice.connect(stack.mqttUrl);
  const sampler = samplePeakRss(() =>
    Object.fromEntries(stack.assemblers.map((a, i) => [`assembler-${i}`, a.pid])),
  );
  const highest = async () => Math.max(0, ...Object.values(await sampler.stop()));
  try {
    const result = await device.upload(fileId, data, {
      name: 'big.bin',
      segmentSize: 512 * 1024,
      window: 16,
    });
    const peak = await highest();
    console.log(`${fileId}: assembler peak RSS ${(peak / 2 ** 20).toFixed(1)} MiB`);
    return { result, peak, clientId: device.clientId };
  } finally {
    await sampler.stop();
    await device.close();
  }
}

describe('a 300 MiB file through 2 ingest and 2 assembler processes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-large-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('into file storage: byte-identical, assembler RSS under 200 MiB', async () => {
    const stack = await startMqftStack({ storage: `file://${dir}`, ingests: 2, assemblers: 2 });
    try {
      const { result, peak } = await uploadWatchingMemory(stack, 'big-file');
      expect(result).toMatchObject({ reason_code: 0 });
      expect(await streamDigest(createReadStream(fileURLToPath(result.location as string)))).toBe(
        digest,
      );
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThan(RSS_BOUND);
    } finally {
      await stack.stop();
    }
  });

  it('into S3: byte-identical, assembler RSS under 200 MiB', async () => {
    const s3 = await startS3Stack({
      prefix: 'large',
      bucketPrefix: 'mqft-large',
      ingests: 2,
      assemblers: 2,
    });
    try {
      const { result, peak, clientId } = await uploadWatchingMemory(s3.stack, 'big-s3');
      expect(result).toMatchObject({ reason_code: 0 });
      const object = await s3.client.send(
        new GetObjectCommand({ Bucket: s3.bucket, Key: `large/${clientId}/big-s3/big.bin` }),
      );
      expect(await streamDigest(object.Body as NodeJS.ReadableStream)).toBe(digest);
      expect(peak).toBeLessThan(RSS_BOUND);
    } finally {
      await s3.stop();
    }
  });
});
