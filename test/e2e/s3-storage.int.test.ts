import { randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Stack, type S3Stack } from '@mqft/test-support';
import { TestDevice, sha256 } from './device.js';

/** The data path into S3 (s3rver), read back with the AWS SDK. */
describe('data path into S3', () => {
  let s3: S3Stack;
  let device: TestDevice;

  beforeAll(async () => {
    s3 = await startS3Stack({
      prefix: 'uploads',
      bucketPrefix: 'mqft-e2e',
      ingests: 2,
      assemblers: 2,
      env: { MQFT_STORAGE_PART_SIZE: '5MiB' },
    });
    device = await TestDevice.connect(s3.stack.mqttUrl, { clientId: 'dev/s3' });
  });
  afterAll(async () => {
    await device?.close();
    await s3?.stop();
  });

  const object = async (key: string) => {
    const response = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    return {
      bytes: Buffer.from(
        await (
          response.Body as { transformToByteArray(): Promise<Uint8Array> }
        ).transformToByteArray(),
      ),
      metadata: response.Metadata ?? {},
    };
  };

  it.each([0, 1, 1024 * 1024, 10 * 1024 * 1024 + 7])(
    'a file of %d bytes arrives byte-identical, with EMQX metadata',
    async (size) => {
      const data = randomBytes(size);
      const fileId = `s-${size}`;
      const result = await device.upload(fileId, data, {
        name: 'data.bin',
        segmentSize: 256 * 1024,
      });
      expect(result).toMatchObject({ reason_code: 0 });
      // clientId `dev/s3` is escaped in the key exactly as EMQX does.
      expect(result.location).toBe(`s3://${s3.bucket}/uploads/dev%2Fs3/${fileId}/data.bin`);
      const stored = await object(`uploads/dev%2Fs3/${fileId}/data.bin`);
      expect(sha256(stored.bytes)).toBe(sha256(data));
      expect(stored.metadata).toMatchObject({
        clientid: 'dev/s3',
        fileid: fileId,
        'filemeta-vsn': '1',
      });
    },
  );

  it('a whole-file checksum mismatch leaves no object', async () => {
    const data = randomBytes(6 * 1024 * 1024);
    await device.init('bad', { name: 'bad.bin' });
    await device.segment('bad', 0, data);
    expect(await device.fin('bad', data.length, sha256(Buffer.from('not it')))).toMatchObject({
      reason_code: 0x80,
      reason_description: 'checksum_mismatch',
    });
    await expect(
      s3.client.send(
        new HeadObjectCommand({ Bucket: s3.bucket, Key: 'uploads/dev%2Fs3/bad/bad.bin' }),
      ),
    ).rejects.toThrow();
  });
});
