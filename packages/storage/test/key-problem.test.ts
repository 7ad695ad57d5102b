import { describe, expect, it } from 'vitest';
import { createStorage } from '../src/index.js';

const file = createStorage('file:///var/lib/mqft/files');
const s3 = createStorage('s3://bucket/prefix?endpoint=http://127.0.0.1:9&region=us-east-1', {
  s3: { credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } },
});

describe('keyProblem: keys a backend can never store are named before any upload', () => {
  it('file: each escaped path component fits in 255 bytes (NAME_MAX)', () => {
    // 255 bytes of fileId that escaping makes 765.
    const escapedFileId = { clientId: 'dev', fileId: '%'.repeat(255), name: 'n' };
    expect(file.keyProblem(escapedFileId)).toBe(
      'the escaped fileId is 765 bytes as a path component (at most 255)',
    );
    expect(file.keyProblem({ clientId: 'ü'.repeat(128), fileId: 'f', name: 'n' })).toMatch(
      /^the escaped clientId is 256 bytes/,
    );
    // The longest name init allows (240 bytes) plus `.MANIFEST.json` still fits.
    expect(file.keyProblem({ clientId: 'c'.repeat(255), fileId: 'f', name: 'x'.repeat(240) })).toBe(
      undefined,
    );
    expect(file.keyProblem({ clientId: 'dev', fileId: '🌚'.repeat(63), name: 'a' })).toBe(
      undefined,
    );
  });

  it('s3: the whole key (prefix included) and its .filemeta.json sidecar fit in 1,024 bytes', () => {
    const long = { clientId: 'c'.repeat(500), fileId: '%'.repeat(100), name: 'n'.repeat(200) };
    expect(s3.keyProblem(long)).toBe(undefined); // 'prefix/' + 500 + '/' + 300 + '/' + 200 = 1009
    expect(s3.keyProblem({ ...long, clientId: 'c'.repeat(502) })).toBe(
      "the object key is 1011 bytes (at most 1010: S3's 1024 less the .filemeta.json sidecar's suffix)",
    );
  });
});
