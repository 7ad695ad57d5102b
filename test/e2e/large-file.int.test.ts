import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bucketName,
  startMqftStack,
  startS3rver,
  type MqftStack,
  type S3ServerHandle,
} from '@mqft/test-support';
import { TestDevice, sha256 } from './device.js';
import { samplePeakRss } from './process-memory.js';

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
  const sampler = samplePeakRss(() => stack.assemblers.map((a) => a.pid));
  try {
    const result = await device.upload(fileId, data, {
      name: 'big.bin',
      segmentSize: 512 * 1024,
      window: 16,
    });
    const peak = await sampler.stop();
    console.log(`${fileId}: assembler peak RSS ${(peak / 2 ** 20).toFixed(1)} MiB`);
    return { result, peak, clientId: device.clientId };
  } finally {
    await sampler.stop();
    await device.close();
  }
}

describe('a 300 MiB file through 2 ingest and 2 assembler processes', () => {
  let dir: string;
  let s3: S3ServerHandle;
  const bucket = bucketName('mqft-large');
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqft-large-'));
    s3 = await startS3rver({ buckets: [bucket] });
  });
  afterAll(async () => {
    await s3?.stop();
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
    const endpoint = encodeURIComponent(s3.endpoint);
    const stack = await startMqftStack({
      storage: `s3://${bucket}/large?endpoint=${endpoint}&region=${s3.region}&forcePathStyle=true`,
      ingests: 2,
      assemblers: 2,
      env: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
    });
    const client = new S3Client(s3.clientConfig());
    try {
      const { result, peak, clientId } = await uploadWatchingMemory(stack, 'big-s3');
      expect(result).toMatchObject({ reason_code: 0 });
      const object = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: `large/${clientId}/big-s3/big.bin` }),
      );
      expect(await streamDigest(object.Body as NodeJS.ReadableStream)).toBe(digest);
      expect(peak).toBeLessThan(RSS_BOUND);
    } finally {
      client.destroy();
      await stack.stop();
    }
  });
});
