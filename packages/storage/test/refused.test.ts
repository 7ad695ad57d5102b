import { describe, expect, it } from 'vitest';
import { isRefusedForGood, StorageError } from '../src/index.js';
import { toStorageError } from '../src/errors.js';

const fsError = (code: string) => Object.assign(new Error(code), { code });
const s3Error = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

// Storage refusing one object for good ends its transfer failed at once; anything else is
// retried (docs/protocol.md "Failed transfers").
describe('isRefusedForGood', () => {
  it.each([
    ['a path component too long', toStorageError(fsError('ENAMETOOLONG'), 'begin')],
    ['a directory at the file path', toStorageError(fsError('EISDIR'), 'complete')],
    ['S3 metadata over 2 KB', toStorageError(s3Error('MetadataTooLarge', 400), 'begin')],
    ['an S3 key too long', s3Error('KeyTooLongError', 400)],
    ['an S3 object name refused', s3Error('InvalidObjectName', 400)],
    ['a target the backend refuses', new StorageError('bad', { code: 'invalid_target' })],
    ['too many parts', new StorageError('big', { code: 'too_many_parts' })],
  ])('refused: %s', (_what, err) => {
    expect(isRefusedForGood(err)).toBe(true);
  });

  it.each([
    ['a full disk', toStorageError(fsError('ENOSPC'), 'write')],
    ['a file where the temp dir should be', toStorageError(fsError('ENOTDIR'), 'begin')],
    ['access denied (every object)', toStorageError(s3Error('AccessDenied', 403), 'begin')],
    ['a missing bucket (every object)', toStorageError(s3Error('NoSuchBucket', 404), 'begin')],
    ['S3 unavailable', toStorageError(s3Error('ServiceUnavailable', 503), 'begin')],
    ['an S3 request timeout (a 400)', s3Error('RequestTimeout', 400)],
    [
      'a malformed authorization (a 400, every object)',
      s3Error('AuthorizationHeaderMalformed', 400),
    ],
    [
      'a retryable StorageError with a refusal inside',
      new StorageError('x', {
        code: 'io',
        retryable: true,
        cause: fsError('ENAMETOOLONG'),
      }),
    ],
    ['a plain error', new Error('boom')],
    ['not an error', 'boom'],
  ])('not refused: %s', (_what, err) => {
    expect(isRefusedForGood(err)).toBe(false);
  });
});
