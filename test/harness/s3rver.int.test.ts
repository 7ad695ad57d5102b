import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { bucketName, startS3rver, type S3ServerHandle } from '@mqft/test-support';

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

// The S3 calls the assembler makes, against s3rver with the client options of docs/design.md.
describe('s3rver', () => {
  let server: S3ServerHandle;
  let s3: S3Client;
  const bucket = bucketName('mqft-t');

  beforeAll(async () => {
    server = await startS3rver();
    await server.createBucket(bucket);
    s3 = new S3Client(server.clientConfig());
  });

  afterAll(async () => {
    s3?.destroy();
    await server?.stop();
  });

  it('assembles a 3-part multipart upload byte for byte', async () => {
    const key = 'clients/dev%2F1/f1/report.bin';
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(MiB + 123)];
    const whole = Buffer.concat(parts);
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        Metadata: { clientid: 'dev/1', fileid: 'f1', 'filemeta-vsn': '1' },
      }),
    );
    expect(UploadId).toBeTruthy();
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const part = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: i + 1,
          Body: body,
        }),
      );
      etags.push(part.ETag ?? '');
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );

    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ContentLength).toBe(whole.length);
    expect(head.Metadata).toMatchObject({ clientid: 'dev/1', fileid: 'f1', 'filemeta-vsn': '1' });
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const back = await object.Body?.transformToByteArray();
    expect(back?.length).toBe(whole.length);
    expect(sha256(back ?? new Uint8Array())).toBe(sha256(whole));
  });

  it('aborts a multipart upload: no object, and the upload id is gone', async () => {
    const key = 'clients/dev2/f2/aborted.bin';
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
    );
    await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        PartNumber: 1,
        Body: randomBytes(1024),
      }),
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));

    await expect(
      s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 2, Body: 'late' }),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: [{ ETag: '"x"', PartNumber: 1 }] },
        }),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });
});
