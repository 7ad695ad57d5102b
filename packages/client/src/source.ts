import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { sha256Hex } from '@mqft/protocol';
import { UploadError } from './errors.js';
import { StreamSource } from './stream-source.js';

/** What to upload: a file path, the bytes themselves, or a stream of known size. */
export type UploadInput = string | Uint8Array | { stream: AsyncIterable<Uint8Array>; size: number };

/** Random access to the bytes of an upload, as far as the input allows it. */
export interface UploadSource {
  readonly size: number;
  /** The file's base name for a path, for the default `name`. */
  readonly name: string | undefined;
  /** Whether `checksum()` is known before sending (path, bytes), which resuming needs. */
  readonly rewindable: boolean;
  /** The bytes `[offset, offset + length)`. */
  read(offset: number, length: number): Promise<Buffer>;
  /** The cluster holds these bytes durably: a stream may forget them. */
  release(offset: number, length: number): void;
  /** SHA-256 of all bytes, lower-case hex (for a stream: once it has been read to the end). */
  checksum(): Promise<string>;
  close(): Promise<void>;
}

export async function openSource(input: UploadInput): Promise<UploadSource> {
  if (typeof input === 'string') return FileSource.open(input);
  if (input instanceof Uint8Array)
    return new BytesSource(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  return new StreamSource(input.stream, input.size);
}

class BytesSource implements UploadSource {
  readonly name = undefined;
  readonly rewindable = true;
  constructor(private readonly bytes: Buffer) {}

  get size(): number {
    return this.bytes.length;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return Promise.resolve(this.bytes.subarray(offset, offset + length));
  }

  release(): void {}

  checksum(): Promise<string> {
    // Not cached: the caller may have changed the bytes, which a failed fin needs to know.
    return Promise.resolve(sha256Hex(this.bytes));
  }

  async close(): Promise<void> {}
}

class FileSource implements UploadSource {
  readonly rewindable = true;
  readonly name: string;

  private constructor(
    private readonly path: string,
    private readonly handle: FileHandle,
    readonly size: number,
  ) {
    this.name = basename(path);
  }

  static async open(path: string): Promise<FileSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (cause) {
      throw new UploadError('source', `cannot open ${path}: ${String(cause)}`, { cause });
    }
    const stat = await handle.stat();
    return new FileSource(path, handle, stat.size);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(
        buffer,
        filled,
        length - filled,
        offset + filled,
      );
      if (bytesRead === 0) throw new UploadError('source', `${this.path} shrank while it was sent`);
      filled += bytesRead;
    }
    return buffer;
  }

  release(): void {}

  /** Hashes the file as it is now (read again each time: it may have changed). */
  async checksum(): Promise<string> {
    const hash = createHash('sha256');
    if (this.size === 0) return hash.digest('hex');
    for await (const chunk of createReadStream(this.path, { end: this.size - 1 })) {
      hash.update(chunk as Buffer);
    }
    return hash.digest('hex');
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
