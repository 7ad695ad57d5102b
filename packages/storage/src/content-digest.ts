import { createHash } from 'node:crypto';

/** Size and SHA-256 of the bytes written to an upload, computed once as they pass. */
export class ContentDigest {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private final: { size: number; sha256: string } | undefined;

  update(chunk: Uint8Array): void {
    if (this.final) throw new Error('the upload was already measured; no more writes');
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  /** The final size and digest; after the first call no more bytes may be added. */
  result(): { size: number; sha256: string } {
    this.final ??= { size: this.bytes, sha256: this.hash.digest('hex') };
    return this.final;
  }
}
