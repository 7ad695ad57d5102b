import { randomBytes } from 'node:crypto';
import { ANONYMOUS_CLIENT_ID } from '@mqft/protocol';
import { createStorage, type StorageBackend } from '@mqft/storage';
import {
  bucketName,
  startS3rver,
  type OpenApiClient,
  type S3ServerHandle,
} from '@mqft/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';
import { apiClient, sha256, storeComplete } from './http-support.js';

describe('HTTP API over S3 (s3rver)', () => {
  let s3: S3ServerHandle;
  let h: Harness;
  let api: OpenApiClient;
  let storage: StorageBackend;
  const bucket = bucketName('http');
  const files: [string, string, Buffer][] = [
    ['s3 dev/1', 'ü file?', randomBytes(150_000)],
    [ANONYMOUS_CLIENT_ID, 'anon', randomBytes(1_000)],
  ];
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: [bucket] });
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
    const url = `s3://${bucket}/exports?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&forcePathStyle=true`;
    h = await Harness.start({ storage: url, tokens: ['s3-token'] });
    storage = createStorage(url);
    api = await apiClient(h);
    for (const [clientId, fileId, bytes] of files)
      await storeComplete(h, storage, clientId, fileId, bytes);
  });
  afterAll(async () => {
    await storage?.close();
    await h?.close();
    await s3?.stop();
  });

  const bytesOf = (clientId: string, fileId: string) =>
    files.find(([c, f]) => c === clientId && f === fileId)?.[2] as Buffer;

  it("EMQX: each file's `uri` is a presigned URL that plain fetch downloads", async () => {
    const res = await api.request('GET', '/api/v5/file_transfer/files');
    expect(res.problems).toEqual([]);
    const { files: listed } = res.body as {
      files: { clientid: string; fileid: string; uri: string }[];
    };
    expect(listed).toHaveLength(files.length);
    for (const file of listed) {
      expect(file.uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*X-Amz-Signature=/);
      const download = await fetch(file.uri);
      expect(download.status).toBe(200);
      expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(
        sha256(bytesOf(file.clientid, file.fileid)),
      );
    }
  });

  it('own API: content answers 302 to a presigned URL; delete removes the object', async () => {
    for (const [clientId, fileId, bytes] of files) {
      const res = await api.request('GET', '/api/v1/transfers/{clientId}/{fileId}/content', {
        params: { clientId, fileId },
      });
      expect(res.problems).toEqual([]);
      expect(res.status).toBe(302);
      const download = await fetch(res.headers.get('location') as string);
      expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(bytes));
    }
    const [clientId, fileId] = files[0] as [string, string, Buffer];
    const ref = { clientId, fileId, name: `${fileId}.bin` };
    expect(await storage.stat(ref)).toBeDefined();
    const deleted = await api.request('DELETE', '/api/v1/files/{clientId}/{fileId}', {
      params: { clientId, fileId },
    });
    expect(deleted.problems).toEqual([]);
    expect(deleted.status).toBe(204);
    expect(await storage.stat(ref)).toBeUndefined();
    const listed = (await api.request('GET', '/api/v5/file_transfer/files')).body as {
      files: unknown[];
    };
    expect(listed.files).toHaveLength(files.length - 1);
  });
});
