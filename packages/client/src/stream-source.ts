import { createHash } from 'node:crypto';
import { UploadError } from './errors.js';
import type { UploadSource } from './source.js';

interface Held {
  offset: number;
  bytes: Buffer;
}

/**
 * A stream read once, front to back. Bytes stay in memory from the moment they are read
 * until the cluster confirmed them (at most about `window` segments), so unanswered segments
 * can be sent again; bytes already released cannot, which only matters when the cluster
 * lost segments it had confirmed (then the upload fails with kind `source`).
 */
export class StreamSource implements UploadSource {
  readonly name = undefined;
  readonly rewindable = false;
  private readonly iterator: AsyncIterator<Uint8Array>;
  private readonly hash = createHash('sha256');
  private held: Held[] = [];
  private position = 0;
  private leftover: Buffer[] = [];
  private leftoverBytes = 0;
  private reading: Promise<unknown> = Promise.resolve();

  constructor(
    stream: AsyncIterable<Uint8Array>,
    readonly size: number,
  ) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  read(offset: number, length: number): Promise<Buffer> {
    // Reads of new bytes must happen one after the other, in stream order.
    const next = this.reading.then(() => this.readNow(offset, length));
    this.reading = next.catch(() => undefined);
    return next;
  }

  private async readNow(offset: number, length: number): Promise<Buffer> {
    const end = offset + length;
    while (this.position < end) await this.pull(Math.min(end, this.size) - this.position);
    const pieces: Buffer[] = [];
    let at = offset;
    for (const { offset: start, bytes } of this.held) {
      const stop = start + bytes.length;
      if (stop <= at || start > at) continue;
      const piece = bytes.subarray(at - start, Math.min(bytes.length, end - start));
      pieces.push(piece);
      at += piece.length;
      if (at >= end) break;
    }
    if (at < end) {
      const message = `bytes ${at}–${end} of the stream were confirmed and dropped; they cannot be sent again`;
      throw new UploadError('source', message);
    }
    return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
  }

  /** Reads the next `wanted` bytes of the stream into memory. */
  private async pull(wanted: number): Promise<void> {
    while (this.leftoverBytes < wanted) {
      const next = await this.iterator.next();
      if (next.done) {
        const got = this.position + this.leftoverBytes;
        throw new UploadError('source', `the stream ended after ${got} of ${this.size} bytes`);
      }
      const value = next.value;
      this.leftover.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      this.leftoverBytes += value.byteLength;
    }
    const all =
      this.leftover.length === 1 ? (this.leftover[0] as Buffer) : Buffer.concat(this.leftover);
    const bytes = all.subarray(0, wanted);
    this.leftover = all.length > wanted ? [all.subarray(wanted)] : [];
    this.leftoverBytes = all.length - wanted;
    this.hash.update(bytes);
    this.held.push({ offset: this.position, bytes });
    this.position += wanted;
  }

  release(offset: number, length: number): void {
    const end = offset + length;
    // Held pieces are the read() units, so a confirmed segment frees exactly its pieces.
    this.held = this.held.filter((h) => h.offset < offset || h.offset + h.bytes.length > end);
  }

  async checksum(): Promise<string> {
    if (this.position < this.size) await this.read(this.position, this.size - this.position);
    return this.hash.copy().digest('hex');
  }

  async close(): Promise<void> {
    this.held = [];
    await this.iterator.return?.();
  }
}
