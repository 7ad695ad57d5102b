import {
  AbortMultipartUploadCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { bucketName, startS3rver, type S3ServerHandle } from '@mqft/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { StorageError, createStorage, type S3Storage } from '../src/index.js';
import {
  expectSameBytes,
  randomBytes,
  readAll,
  sha256,
  store,
  target,
  writeAll,
} from './helpers.js';

const MiB = 1024 * 1024;
const PREFIX = 'pre/fix';

let server: S3ServerHandle;
let bucket: string;
let storage: S3Storage;

beforeAll(async () => {
  server = await startS3rver();
  bucket = bucketName('mqft-storage');
  await server.createBucket(bucket);
  const { accessKeyId, secretAccessKey } = server;
  storage = createStorage(server.storageUrl(bucket, PREFIX), {
    partSize: 5 * MiB,
    partConcurrency: 2,
    s3: { credentials: { accessKeyId, secretAccessKey } },
  }) as S3Storage;
});

afterAll(async () => {
  await storage?.close();
  await server?.stop();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Counts the commands the storage sends (and how many UploadParts run at once). */
function watchCommands() {
  const sent: Array<{ name: string; input: Record<string, unknown> }> = [];
  let partsInFlight = 0;
  let maxPartsInFlight = 0;
  const send = storage.client.send.bind(storage.client) as (command: unknown) => Promise<unknown>;
  vi.spyOn(storage.client, 'send').mockImplementation((async (command: {
    constructor: { name: string };
    input: Record<string, unknown>;
  }) => {
    sent.push({ name: command.constructor.name, input: command.input });
    const isPart = command instanceof UploadPartCommand;
    if (isPart) maxPartsInFlight = Math.max(maxPartsInFlight, ++partsInFlight);
    try {
      return await send(command);
    } finally {
      if (isPart) partsInFlight--;
    }
  }) as never);
  return { sent, maxPartsInFlight: () => maxPartsInFlight };
}

async function keysUnder(prefix: string): Promise<string[]> {
  const listed = await storage.client.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }),
  );
  return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
}

describe('S3Storage against s3rver', () => {
  it.each([
    ['0 B', 0, 0],
    ['1 B', 1, 1],
    ['exactly one part', 5 * MiB, 1],
    ['20 MiB in 5 MiB parts', 20 * MiB + 123, 5],
  ])('round-trips %s byte-identical', async (_label, size, parts) => {
    const bytes = randomBytes(size);
    const t = target({ fileId: `round-trip-${size}` });
    const watch = watchCommands();
    const completed = await store(storage, t, bytes);

    expect(completed).toEqual({
      location: `s3://${bucket}/${PREFIX}/dev-1/round-trip-${size}/report.bin`,
      size,
      sha256: sha256(bytes),
    });
    expect(watch.sent.filter((c) => c.name === 'UploadPartCommand')).toHaveLength(parts);
    expect(watch.maxPartsInFlight()).toBeLessThanOrEqual(2);
    expect((await storage.stat(t))?.size).toBe(size);
    expectSameBytes(await readAll(await storage.read(t)), bytes);
  });

  it('sends EMQX’s metadata headers, non-ASCII values as RFC 2047 words', async () => {
    const t = target({ clientId: 'dev-7', fileId: '🌚' });
    await store(storage, t, Buffer.from('metadata'));

    const head = new HeadObjectCommand({ Bucket: bucket, Key: `${PREFIX}/dev-7/🌚/report.bin` });
    const response = await fetch(await getSignedUrl(storage.client, head, { expiresIn: 60 }), {
      method: 'HEAD',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-amz-meta-clientid')).toBe('dev-7');
    expect(response.headers.get('x-amz-meta-fileid')).toBe('=?UTF-8?B?8J+Mmg==?=');
    expect(response.headers.get('x-amz-meta-filemeta-vsn')).toBe('1');
    const filemeta = response.headers.get('x-amz-meta-filemeta') ?? '';
    expect(JSON.parse(filemeta)).toEqual(JSON.parse(t.filemetaJson));

    const metadata = (await storage.stat(t))?.metadata ?? {};
    expect(metadata).toMatchObject({ clientid: 'dev-7', fileid: '🌚', 'filemeta-vsn': '1' });
    expect(JSON.parse(metadata.filemeta ?? '')).toEqual(JSON.parse(t.filemetaJson));
  });

  it('escapes ids into the key exactly like EMQX', async () => {
    const t = target({ clientId: 'a/b', fileId: '..', name: 'name' });
    await store(storage, t, Buffer.from('escaped'));
    expect(storage.locate(t)).toBe(`s3://${bucket}/${PREFIX}/a%2Fb/%2E%2E/name`);
    expect(await keysUnder(`${PREFIX}/a`)).toEqual([`${PREFIX}/a%2Fb/%2E%2E/name`]);
  });

  it('hands out a presigned URL that plain fetch can download', async () => {
    const t = target({ clientId: 'a/b', fileId: '50% done', name: '中文 file.txt' });
    const bytes = randomBytes(100_000);
    await store(storage, t, bytes);
    const response = await fetch(await storage.downloadUrl(t, 300));
    expect(response.status).toBe(200);
    expectSameBytes(Buffer.from(await response.arrayBuffer()), bytes);
  });

  it('leaves no object after abort(), even with parts uploaded', async () => {
    const t = target({ fileId: 'aborted' });
    const upload = await storage.begin(t);
    await writeAll(upload, randomBytes(6 * MiB), MiB);
    await upload.abort();
    await upload.abort();
    expect(await storage.stat(t)).toBeUndefined();
    expect(await keysUnder(`${PREFIX}/dev-1/aborted`)).toEqual([]);
    await expect(storage.read(t)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('refuses to complete bytes that differ from what the caller verified', async () => {
    const t = target({ fileId: 'mismatch' });
    const bytes = randomBytes(6 * MiB);
    const upload = await storage.begin(t);
    await writeAll(upload, bytes, MiB);
    await expect(
      upload.complete({ size: bytes.length, sha256: sha256(Buffer.from('x')) }),
    ).rejects.toMatchObject({ code: 'checksum_mismatch', retryable: false });
    expect(await storage.stat(t)).toBeUndefined();
  });

  it('aborts a predecessor’s upload by its id, tolerating a server that cannot list', async () => {
    const t = target({ fileId: 'predecessor' });
    const predecessor = await storage.begin(t);
    const bytes = randomBytes(1000);
    await predecessor.write(bytes);
    const watch = watchCommands();

    await storage.abortUnfinished(t, predecessor.uploadId);
    const aborts = watch.sent.filter((c) => c.name === 'AbortMultipartUploadCommand');
    expect(aborts.map((c) => c.input)).toEqual([
      {
        Bucket: bucket,
        Key: `${PREFIX}/dev-1/predecessor/report.bin`,
        UploadId: predecessor.uploadId,
      },
    ]);
    expect(watch.sent.some((c) => c.name === 'ListMultipartUploadsCommand')).toBe(true);
    // A predecessor that did not notice it was fenced off cannot finish any more.
    const late = predecessor.complete({ size: bytes.length, sha256: sha256(bytes) });
    await expect(late).rejects.toThrow(/NoSuchUpload/);
    expect(await storage.stat(t)).toBeUndefined();
  });

  it('retries a part whose upload failed transiently', async () => {
    const t = target({ fileId: 'flaky' });
    const bytes = randomBytes(11 * MiB);
    const send = storage.client.send.bind(storage.client) as (command: unknown) => Promise<unknown>;
    let failures = 0;
    vi.spyOn(storage.client, 'send').mockImplementation((async (command: unknown) => {
      if (command instanceof UploadPartCommand && failures < 2) {
        failures++;
        throw Object.assign(new Error('We encountered an internal error'), {
          name: 'InternalError',
          $metadata: { httpStatusCode: 500 },
        });
      }
      return send(command);
    }) as never);

    await store(storage, t, bytes);
    expect(failures).toBe(2);
    expectSameBytes(await readAll(await storage.read(t)), bytes);
  });

  it('reports a permanent part failure as a non-retryable StorageError', async () => {
    const t = target({ fileId: 'denied' });
    vi.spyOn(storage.client, 'send').mockImplementation((async (command: unknown) => {
      if (command instanceof AbortMultipartUploadCommand) return {};
      if (command instanceof UploadPartCommand) {
        throw Object.assign(new Error('Access Denied'), {
          name: 'AccessDenied',
          $metadata: { httpStatusCode: 403 },
        });
      }
      return { UploadId: 'fake-upload' };
    }) as never);
    const upload = await storage.begin(t);
    const failure = await (async () => {
      await writeAll(upload, randomBytes(11 * MiB), MiB);
      return upload.complete({ size: 11 * MiB, sha256: 'unused' });
    })().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StorageError);
    expect(failure).toMatchObject({ retryable: false, code: 'io' });
    expect((failure as Error).message).toMatch(/AccessDenied/);
  });

  it('stores a file smaller than a part with one PutObject, metadata included', async () => {
    const t = target({ fileId: 'small' });
    const bytes = randomBytes(64 * 1024 + 7);
    const watch = watchCommands();
    await storage.abortUnfinished(t, undefined, bytes.length);
    const upload = await storage.begin(t, { size: bytes.length });
    expect(upload.uploadId).toBe('');
    await writeAll(upload, bytes, 10_000);
    const done = await upload.complete({ size: bytes.length, sha256: sha256(bytes) });
    expect(done.location).toBe(`s3://${bucket}/${PREFIX}/dev-1/small/report.bin`);
    expect(watch.sent.map((c) => c.name)).toEqual(['PutObjectCommand']);
    expectSameBytes(await readAll(await storage.read(t)), bytes);
    const metadata = (await storage.stat(t))?.metadata ?? {};
    expect(metadata).toMatchObject({ clientid: 'dev-1', fileid: 'small', 'filemeta-vsn': '1' });
    expect(JSON.parse(metadata.filemeta ?? '')).toEqual(JSON.parse(t.filemetaJson));
  });

  it('one-request uploads: more bytes than announced, a bad checksum or abort() store nothing', async () => {
    const t = target({ fileId: 'small-refused' });
    const bytes = randomBytes(1000);
    const longer = await storage.begin(t, { size: 999 });
    await longer.write(bytes);
    await expect(longer.complete({ size: 999, sha256: sha256(bytes) })).rejects.toMatchObject({
      code: 'size_mismatch',
    });
    const corrupt = await storage.begin(t, { size: bytes.length });
    await corrupt.write(bytes);
    await expect(
      corrupt.complete({ size: bytes.length, sha256: sha256(Buffer.from('x')) }),
    ).rejects.toMatchObject({ code: 'checksum_mismatch' });
    const aborted = await storage.begin(t, { size: bytes.length });
    await aborted.write(bytes);
    await aborted.abort();
    await expect(aborted.complete({ size: bytes.length, sha256: sha256(bytes) })).rejects.toThrow();
    expect(await storage.stat(t)).toBeUndefined();
  });

  it('uses a multipart upload from one part size on', async () => {
    const t = target({ fileId: 'one-part' });
    const bytes = randomBytes(5 * MiB);
    const watch = watchCommands();
    const upload = await storage.begin(t, { size: bytes.length });
    expect(upload.uploadId).not.toBe('');
    await writeAll(upload, bytes, MiB);
    await upload.complete({ size: bytes.length, sha256: sha256(bytes) });
    expect(watch.sent.map((c) => c.name)).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
    ]);
  });

  it('deletes idempotently', async () => {
    const t = target({ fileId: 'deleted' });
    await store(storage, t, Buffer.from('bye'));
    await storage.delete(t);
    await storage.delete(t);
    expect(await storage.stat(t)).toBeUndefined();
  });
});
