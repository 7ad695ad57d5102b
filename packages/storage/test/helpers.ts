import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { FileUpload, StorageBackend, StoredFileTarget } from '../src/index.js';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function target(overrides: Partial<StoredFileTarget> = {}): StoredFileTarget {
  const name = overrides.name ?? 'report.bin';
  return {
    clientId: 'dev-1',
    fileId: 'f-1',
    name,
    filemetaJson: JSON.stringify({ name, size: 0, user_data: { ключ: '🌚' } }),
    ...overrides,
  };
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

/** Writes `bytes` in chunks of `chunkSize`, awaiting each write as callers must. */
export async function writeAll(upload: FileUpload, bytes: Uint8Array, chunkSize = 64 * 1024) {
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    await upload.write(bytes.subarray(offset, offset + chunkSize));
  }
}

/** Stores `bytes` as `t` from begin to complete. */
export async function store(storage: StorageBackend, t: StoredFileTarget, bytes: Uint8Array) {
  const upload = await storage.begin(t);
  await writeAll(upload, bytes);
  return upload.complete({ size: bytes.length, sha256: sha256(bytes) });
}

/** Byte equality without vitest's element-by-element diff, which takes seconds on megabytes. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.from(actual).equals(expected), 'bytes differ').toBe(true);
}

export { randomBytes };
