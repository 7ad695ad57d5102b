import { unlink, type FileHandle } from 'node:fs/promises';
import { isNotFound } from './errors.js';
import type { CompletedFile, FileUpload } from './storage.js';
import { ContentDigest } from './content-digest.js';
import { UploadLifecycle } from './upload-lifecycle.js';

/** Moves the finished temporary file into place; returns the location of the visible file. */
export type PublishTempFile = (
  tempPath: string,
  content: { size: number; sha256: string },
) => Promise<string>;

/**
 * An upload into a temporary file of the directory backend. Nothing is visible under the
 * storage root until complete() renames the synced file into place.
 */
export class TempFileUpload implements FileUpload {
  private readonly lifecycle: UploadLifecycle;
  private readonly digest = new ContentDigest();
  private size = 0;
  private handleClosed = false;

  constructor(
    readonly uploadId: string,
    private readonly handle: FileHandle,
    private readonly tempPath: string,
    private readonly publish: PublishTempFile,
    location: string,
  ) {
    this.lifecycle = new UploadLifecycle(location);
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.lifecycle.run('write', async () => {
      let offset = 0;
      // A write may be short (signals, quotas); keep going until the chunk is on its way.
      while (offset < chunk.length) {
        const { bytesWritten } = await this.handle.write(chunk, offset, chunk.length - offset);
        offset += bytesWritten;
      }
      this.digest.update(chunk);
      this.size += chunk.length;
    });
  }

  written(): { size: number; sha256: string } {
    return this.digest.result();
  }

  complete(expected: { size: number; sha256: string }): Promise<CompletedFile> {
    return this.lifecycle.complete(
      expected,
      this.digest,
      async (content) => {
        await this.handle.sync();
        await this.closeHandle();
        return this.publish(this.tempPath, content);
      },
      () => this.abort(),
    );
  }

  abort(): Promise<void> {
    return this.lifecycle.abort(async () => {
      await this.closeHandle().catch(() => undefined);
      await unlink(this.tempPath).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    });
  }

  private async closeHandle(): Promise<void> {
    if (this.handleClosed) return;
    this.handleClosed = true;
    await this.handle.close();
  }
}
