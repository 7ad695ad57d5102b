import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { errorName, httpStatusOf, isNotFound, withRetry } from './errors.js';
import { StorageError, type CompletedFile, type FileUpload } from './storage.js';
import { ContentDigest } from './content-digest.js';
import { UploadLifecycle } from './upload-lifecycle.js';

/** S3's limit on the parts of one multipart upload. */
export const MAX_PARTS = 10_000;

export interface S3ObjectRef {
  client: S3Client;
  bucket: string;
  key: string;
  location: string;
  /** Needed again only for a 0-byte file, which is written by PutObject. */
  metadata: Record<string, string>;
}

/**
 * One multipart upload. Bytes are copied into part buffers of exactly `partSize`; a full part is
 * uploaded in the background while at most `concurrency` are in flight, so memory stays below
 * partSize × (concurrency + 1). CompleteMultipartUpload happens only in complete().
 */
export class MultipartUpload implements FileUpload {
  private readonly lifecycle: UploadLifecycle;
  private readonly digest = new ContentDigest();
  private size = 0;
  private part: Buffer | undefined;
  /** Part buffers whose upload finished, reused: fresh 8 MiB buffers per part would leave
   * tens of MiB of garbage outside the V8 heap between collections. */
  private readonly spareParts: Buffer[] = [];
  private partFilled = 0;
  private nextPartNumber = 1;
  private readonly uploadedParts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private partFailure: unknown;

  constructor(
    readonly uploadId: string,
    private readonly object: S3ObjectRef,
    private readonly partSize: number,
    private readonly concurrency: number,
  ) {
    this.lifecycle = new UploadLifecycle(object.location);
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.lifecycle.run('write', async () => {
      this.throwIfPartFailed();
      this.digest.update(chunk);
      this.size += chunk.length;
      let offset = 0;
      while (offset < chunk.length) {
        // Copying decouples the part from the caller's buffer, which it may reuse.
        this.part ??= this.spareParts.pop() ?? Buffer.allocUnsafe(this.partSize);
        const n = Math.min(this.partSize - this.partFilled, chunk.length - offset);
        this.part.set(chunk.subarray(offset, offset + n), this.partFilled);
        this.partFilled += n;
        offset += n;
        if (this.partFilled === this.partSize) await this.sendPart();
      }
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
        if (content.size === 0) await this.putEmptyObject();
        else await this.completeMultipart();
        return this.object.location;
      },
      () => this.abort(),
    );
  }

  abort(): Promise<void> {
    return this.lifecycle.abort(async () => {
      this.part = undefined;
      // Parts still uploading could outlive an earlier abort and keep storage; let them land.
      await Promise.all(this.inFlight);
      await abortMultipartUpload(this.object, this.uploadId);
    });
  }

  private async sendPart(): Promise<void> {
    const buffer = this.part ?? Buffer.alloc(0);
    const body = buffer.subarray(0, this.partFilled);
    const partNumber = this.nextPartNumber++;
    this.part = undefined;
    this.partFilled = 0;
    if (partNumber > MAX_PARTS) {
      throw new StorageError(
        `file needs more than ${MAX_PARTS} parts of ${this.partSize} bytes; raise partSize`,
        { code: 'too_many_parts' },
      );
    }
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    this.throwIfPartFailed();
    // abort() may have run while this part waited; a part sent now would outlive it.
    if (this.lifecycle.aborted) return;
    const task: Promise<void> = this.uploadPart(partNumber, body)
      .then(
        (ETag) => void this.uploadedParts.push({ PartNumber: partNumber, ETag }),
        (err: unknown) => void (this.partFailure ??= err),
      )
      .finally(() => {
        this.inFlight.delete(task);
        if (buffer.length === this.partSize) this.spareParts.push(buffer);
      });
    this.inFlight.add(task);
  }

  private async uploadPart(partNumber: number, body: Buffer): Promise<string> {
    const { client, bucket, key } = this.object;
    const output = await withRetry(() =>
      client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: this.uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
      ),
    );
    if (!output.ETag) throw new Error(`UploadPart ${partNumber} returned no ETag`);
    return output.ETag;
  }

  private throwIfPartFailed(): void {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what a part rejected with
    if (this.partFailure !== undefined) throw this.partFailure;
  }

  private async completeMultipart(): Promise<void> {
    if (this.partFilled > 0) await this.sendPart();
    await Promise.all(this.inFlight);
    this.throwIfPartFailed();
    const parts = [...this.uploadedParts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    const { client, bucket, key } = this.object;
    await withRetry(async () => {
      try {
        await client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: this.uploadId,
            MultipartUpload: { Parts: parts },
          }),
        );
      } catch (err) {
        // An earlier attempt may have completed it and only its response was lost.
        if (errorName(err) === 'NoSuchUpload' && (await this.objectHasSize(this.size))) return;
        throw err;
      }
    });
  }

  private async objectHasSize(size: number): Promise<boolean> {
    const { client, bucket, key } = this.object;
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return head.ContentLength === size;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** A multipart upload needs at least one part; an empty object is simply put. */
  private async putEmptyObject(): Promise<void> {
    await abortMultipartUpload(this.object, this.uploadId);
    await putObject(this.object, new Uint8Array(0));
  }
}

/**
 * A file smaller than a part, stored with one PutObject at complete() (atomic, and idempotent
 * when retried): one S3 request instead of Create + UploadPart + Complete. The bytes are copied
 * into one buffer of the announced size; more than announced fails complete() (size mismatch).
 */
export class SingleObjectUpload implements FileUpload {
  readonly uploadId = '';
  private readonly lifecycle: UploadLifecycle;
  private readonly digest = new ContentDigest();
  private readonly body: Buffer;
  private filled = 0;

  constructor(
    private readonly object: S3ObjectRef,
    size: number,
  ) {
    this.lifecycle = new UploadLifecycle(object.location);
    this.body = Buffer.allocUnsafe(size);
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.lifecycle.run('write', () => {
      this.digest.update(chunk);
      const n = Math.min(chunk.length, this.body.length - this.filled);
      this.body.set(chunk.subarray(0, n), this.filled);
      this.filled += n;
    });
  }

  written(): { size: number; sha256: string } {
    return this.digest.result();
  }

  complete(expected: { size: number; sha256: string }): Promise<CompletedFile> {
    return this.lifecycle.complete(
      expected,
      this.digest,
      async () => {
        await putObject(this.object, this.body.subarray(0, this.filled));
        return this.object.location;
      },
      () => this.abort(),
    );
  }

  /** Nothing was sent before complete(), so nothing is left to discard. */
  abort(): Promise<void> {
    return this.lifecycle.abort(() => Promise.resolve());
  }
}

/** PutObject of a whole file with its metadata, retried like every other request. */
async function putObject(object: S3ObjectRef, body: Uint8Array): Promise<void> {
  const { client, bucket, key, metadata } = object;
  await withRetry(() =>
    client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        Metadata: metadata,
      }),
    ),
  );
}

/**
 * Aborts one multipart upload. Already gone counts as done. A server that cannot abort
 * (501/405) leaves an upload that is invisible anyway; a bucket lifecycle rule reclaims it.
 */
export async function abortMultipartUpload(
  object: Pick<S3ObjectRef, 'client' | 'bucket' | 'key'>,
  uploadId: string,
): Promise<void> {
  const { client, bucket, key } = object;
  try {
    await withRetry(() =>
      client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
      ),
    );
  } catch (err) {
    if (isNotFound(err) || isUnsupported(err)) return;
    throw err;
  }
}

/** The server does not implement the operation (s3rver, some S3-compatible stores). */
export function isUnsupported(err: unknown): boolean {
  const name = errorName(err);
  const status = httpStatusOf(err);
  return (
    status === 501 || status === 405 || name === 'NotImplemented' || name === 'MethodNotAllowed'
  );
}
