import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import type { GetDownloadUrlResponse } from '@mqft/api';
import { createStorage, type StorageBackend } from '@mqft/storage';
import { bucketName, startS3rver, type S3ServerHandle } from '@mqft/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, Harness } from './harness.js';
import { storeFile } from './http-support.js';

describe('control API: GetDownloadUrl with the local-directory storage', () => {
  let h: Harness;
  let storage: StorageBackend;
  beforeAll(async () => {
    h = await Harness.start();
    storage = createStorage(`file://${h.dataDir}`);
  });
  afterAll(() => h?.close());

  it('gives the file:// URL of a complete transfer, without expiry', async () => {
    const bytes = randomBytes(70_000);
    const location = await storeFile(storage, 'dl-dev', 'report', bytes);
    await h.seedComplete('dl-dev', 'report', bytes, { location });
    const response = await h.call<GetDownloadUrlResponse>('getDownloadUrl', {
      clientId: 'dl-dev',
      fileId: 'report',
    });
    expect(response.url).toBe(location);
    expect(response.expireTime).toBeUndefined();
    expect((await readFile(fileURLToPath(response.url))).equals(bytes)).toBe(true);
  });

  it('FAILED_PRECONDITION unless complete; NOT_FOUND when the file is gone from storage', async () => {
    await h.seedReceiving('dl-dev', 'busy');
    expect(
      (await failure(h.call('getDownloadUrl', { clientId: 'dl-dev', fileId: 'busy' }))).code,
    ).toBe(status.FAILED_PRECONDITION);
    await h.seedComplete('dl-dev', 'vanished', Buffer.from('x'));
    expect(
      (await failure(h.call('getDownloadUrl', { clientId: 'dl-dev', fileId: 'vanished' }))).code,
    ).toBe(status.NOT_FOUND);
    expect(
      (await failure(h.call('getDownloadUrl', { clientId: 'dl-dev', fileId: 'unknown' }))).code,
    ).toBe(status.NOT_FOUND);
  });
});

describe('control API: GetDownloadUrl with S3 (s3rver)', () => {
  let s3: S3ServerHandle;
  let h: Harness;
  let storage: StorageBackend;
  const bucket = bucketName('control');
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: [bucket] });
    // The storage package takes credentials from the SDK's default chain, as in production.
    Object.assign(process.env, s3.serviceEnv);
    const url = s3.storageUrl(bucket, 'exports');
    h = await Harness.start({ storage: url });
    storage = createStorage(url);
  });
  afterAll(async () => {
    await storage?.close();
    await h?.close();
    await s3?.stop();
  });

  it('presigns a GET that plain fetch downloads, exact bytes, with its expiry', async () => {
    const bytes = randomBytes(200_000);
    const location = await storeFile(storage, 'dev 1', 'a:b', bytes);
    await h.seedComplete('dev 1', 'a:b', bytes, { location });
    const before = Date.now();
    const response = await h.call<GetDownloadUrlResponse>('getDownloadUrl', {
      clientId: 'dev 1',
      fileId: 'a:b',
      ttl: { seconds: 120, nanos: 0 },
    });
    expect(response.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*X-Amz-Signature=/);
    const expiresMs = (response.expireTime?.seconds ?? 0) * 1000;
    expect(expiresMs).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 119_000);
    expect(expiresMs).toBeLessThanOrEqual(Date.now() + 121_000);
    const download = await fetch(response.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);

    const byDefault = await h.call<GetDownloadUrlResponse>('getDownloadUrl', {
      clientId: 'dev 1',
      fileId: 'a:b',
    });
    expect((byDefault.expireTime?.seconds ?? 0) * 1000).toBeGreaterThan(Date.now() + 14 * 60_000); // MQFT_DOWNLOAD_URL_TTL 15m
  });

  it('INVALID_ARGUMENT for a ttl over 7 days or under 1 s', async () => {
    const request = { clientId: 'dev 1', fileId: 'a:b' };
    expect(
      (
        await failure(
          h.call('getDownloadUrl', { ...request, ttl: { seconds: 8 * 86_400, nanos: 0 } }),
        )
      ).code,
    ).toBe(status.INVALID_ARGUMENT);
    expect(
      (await failure(h.call('getDownloadUrl', { ...request, ttl: { seconds: 0, nanos: 5 } }))).code,
    ).toBe(status.INVALID_ARGUMENT);
  });
});
