import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FileStorage,
  S3Storage,
  StorageError,
  createStorage,
  fileStorageRoot,
  parseS3Url,
} from '../src/index.js';

describe('createStorage', () => {
  it('makes a file backend from an absolute or a relative file URL', () => {
    const absolute = createStorage('file:///var/lib/mqft/files');
    expect(absolute).toBeInstanceOf(FileStorage);
    expect((absolute as FileStorage).root).toBe('/var/lib/mqft/files');
    expect(fileStorageRoot('file://./data/files')).toBe(join(process.cwd(), 'data/files'));
    expect(fileStorageRoot('file://../x')).toBe(join(process.cwd(), '../x'));
    expect(fileStorageRoot('file:///with%20space/')).toBe('/with space/');
  });

  it('makes an S3 backend with the URL’s bucket, prefix and client options', async () => {
    const url =
      's3://my-bucket/some/prefix/?endpoint=http://127.0.0.1:9000&region=eu-west-1&forcePathStyle=true';
    const parsed = parseS3Url(url);
    expect(parsed).toEqual({
      bucket: 'my-bucket',
      prefix: 'some/prefix',
      clientConfig: {
        endpoint: 'http://127.0.0.1:9000',
        region: 'eu-west-1',
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      },
    });
    const credentials = { accessKeyId: 'AKID', secretAccessKey: 'secret' };
    const storage = createStorage(url, { partSize: 6 * 1024 * 1024, s3: { credentials } });
    expect(storage).toBeInstanceOf(S3Storage);
    expect(storage.locate({ clientId: 'a/b', fileId: '..', name: 'n' })).toBe(
      's3://my-bucket/some/prefix/a%2Fb/%2E%2E/n',
    );
    expect(await storage.downloadUrl({ clientId: 'c', fileId: 'f', name: 'n' }, 60)).toMatch(
      /^http:\/\/127\.0\.0\.1:9000\/my-bucket\/some\/prefix\/c\/f\/n\?.*X-Amz-Credential=AKID%2F\d+%2Feu-west-1.*X-Amz-Expires=60/,
    );
    await storage.close();
    expect(parseS3Url('s3://bucket').prefix).toBe('');
    expect(parseS3Url('s3://bucket').clientConfig).not.toHaveProperty('region');
  });

  it.each([
    ['', 'unknown scheme'],
    ['/abs/dir', 'unknown scheme'],
    ['http://example.com/', 'unknown scheme'],
    ['file://data/files', 'must be absolute'],
    ['file:///dir?x=1', 'no query'],
    ['s3://', 'no bucket'],
    ['s3:///prefix', 'no bucket'],
    ['s3://key:secret@bucket/', 'credentials'],
    ['s3://bucket/?endpiont=http://x', 'unknown parameter'],
    ['s3://bucket/?endpoint=127.0.0.1:9000', 'endpoint'],
    ['s3://bucket/?forcePathStyle=yes', 'forcePathStyle'],
  ])('rejects %j naming MQFT_STORAGE and the accepted forms', (url, why) => {
    let error: unknown;
    try {
      createStorage(url);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'invalid_config', retryable: false });
    const message = (error as Error).message;
    expect(message).toContain('MQFT_STORAGE');
    expect(message).toContain(why);
    expect(message).toContain('file:///abs/dir');
    expect(message).toContain('s3://bucket/optional/prefix');
  });

  it('rejects part sizes S3 would refuse', () => {
    expect(() => createStorage('s3://bucket', { partSize: 1024 })).toThrow(/partSize/);
    expect(() => createStorage('s3://bucket', { partConcurrency: 0 })).toThrow(/partConcurrency/);
  });
});
