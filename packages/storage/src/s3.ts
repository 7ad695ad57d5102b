import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { storageKey } from '@mqft/protocol';
import { isNotFound, toStorageError, withRetry } from './errors.js';
import {
  emqxMetadata,
  decodeMetadata,
  FILEMETA_SIDECAR_ENTRY,
  FILEMETA_SIDECAR_SUFFIX,
} from './s3-metadata.js';
import {
  MultipartUpload,
  SingleObjectUpload,
  abortMultipartUpload,
  isUnsupported,
  type S3ObjectRef,
} from './s3-upload.js';
import {
  StorageError,
  type FileUpload,
  type StorageBackend,
  type StoredFileRef,
  type StoredFileTarget,
} from './storage.js';

const MiB = 1024 * 1024;
// S3's limit on an object key, in UTF-8 bytes, less the room of the filemeta sidecar's suffix.
const MAX_KEY_BYTES = 1024 - Buffer.byteLength(FILEMETA_SIDECAR_SUFFIX);
/** S3's minimum size of every part but the last, and its maximum part size. */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const DEFAULT_PART_SIZE = 8 * MiB;
export const DEFAULT_PART_CONCURRENCY = 2;

export interface S3StorageOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix without leading or trailing slash; '' for none. */
  prefix: string;
  partSize?: number;
  partConcurrency?: number;
}

/**
 * Files as objects `<prefix>/<esc(clientId)>/<esc(fileId)>/<name>` with EMQX's metadata,
 * written by multipart upload so that the object appears only when complete() succeeds.
 */
export class S3Storage implements StorageBackend {
  readonly kind = 's3' as const;

  keyProblem(target: StoredFileRef): string | undefined {
    const bytes = Buffer.byteLength(this.objectRef(target).key);
    return bytes > MAX_KEY_BYTES
      ? `the object key is ${bytes} bytes (at most ${MAX_KEY_BYTES}: S3's 1024 less the ${FILEMETA_SIDECAR_SUFFIX} sidecar's suffix)`
      : undefined;
  }
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly partSize: number;
  private readonly partConcurrency: number;

  constructor(options: S3StorageOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.partConcurrency = options.partConcurrency ?? DEFAULT_PART_CONCURRENCY;
    if (
      !Number.isSafeInteger(this.partSize) ||
      this.partSize < MIN_PART_SIZE ||
      this.partSize > MAX_PART_SIZE
    ) {
      throw new StorageError(
        `partSize must be an integer from ${MIN_PART_SIZE} to ${MAX_PART_SIZE} bytes`,
        {
          code: 'invalid_config',
        },
      );
    }
    if (!Number.isSafeInteger(this.partConcurrency) || this.partConcurrency < 1) {
      throw new StorageError('partConcurrency must be a positive integer', {
        code: 'invalid_config',
      });
    }
  }

  async begin(target: StoredFileTarget, options: { size?: number } = {}): Promise<FileUpload> {
    const { metadata, sidecar } = emqxMetadata(target);
    const object: S3ObjectRef = { ...this.objectRef(target), metadata };
    // The sidecar first: the file never becomes visible without the init JSON beside it.
    if (sidecar !== undefined) await this.putSidecar(object.key, sidecar, object.location);
    if (this.fitsOnePut(options.size)) return new SingleObjectUpload(object, options.size);
    try {
      // Metadata must be given now: S3 cannot add it to a multipart upload later.
      const created = await this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: object.key,
          Metadata: object.metadata,
        }),
      );
      if (!created.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      return new MultipartUpload(created.UploadId, object, this.partSize, this.partConcurrency);
    } catch (err) {
      throw toStorageError(err, `begin ${object.location}`);
    }
  }

  async abortUnfinished(
    target: StoredFileRef,
    uploadId?: string,
    plannedSize?: number,
  ): Promise<void> {
    const object = this.objectRef(target);
    // A file of this size is put in one request: no predecessor of it left a multipart upload
    // (one of another size whose id was never recorded is left to the bucket's lifecycle rule).
    if (!uploadId && this.fitsOnePut(plannedSize)) return;
    try {
      const uploadIds = new Set(await this.listUnfinishedUploads(object.key));
      if (uploadId !== undefined) uploadIds.add(uploadId);
      for (const id of uploadIds) await abortMultipartUpload(object, id);
    } catch (err) {
      throw toStorageError(err, `abortUnfinished ${object.location}`);
    }
  }

  /** Files below one part are stored with a single PutObject. */
  private fitsOnePut(size: number | undefined): size is number {
    return size !== undefined && size < this.partSize;
  }

  locate(target: StoredFileRef): string {
    return this.objectRef(target).location;
  }

  async stat(
    target: StoredFileRef,
  ): Promise<{ size: number; metadata: Record<string, string> } | undefined> {
    const { key, location } = this.objectRef(target);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const metadata = decodeMetadata(head.Metadata);
      // The full init JSON did not fit the metadata: `filemeta` is what the sidecar holds.
      if (metadata[FILEMETA_SIDECAR_ENTRY] !== undefined) {
        const sidecar = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: key + FILEMETA_SIDECAR_SUFFIX }),
        );
        metadata.filemeta = (await sidecar.Body?.transformToString('utf-8')) ?? '';
      }
      return { size: head.ContentLength ?? 0, metadata };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toStorageError(err, `stat ${location}`);
    }
  }

  async read(target: StoredFileRef): Promise<NodeJS.ReadableStream> {
    const { key, location } = this.objectRef(target);
    try {
      const output = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      if (!output.Body) throw new Error('GetObject returned no body');
      // In Node the SDK's body is an http.IncomingMessage (a Readable).
      return output.Body as NodeJS.ReadableStream;
    } catch (err) {
      if (isNotFound(err)) {
        throw new StorageError(`no stored file at ${location}`, { code: 'not_found', cause: err });
      }
      throw toStorageError(err, `read ${location}`);
    }
  }

  async downloadUrl(target: StoredFileRef, expiresInSeconds: number): Promise<string> {
    const { key, location } = this.objectRef(target);
    try {
      const command = new GetObjectCommand({ Bucket: this.bucket, Key: key });
      return await getSignedUrl(this.client, command, { expiresIn: expiresInSeconds });
    } catch (err) {
      throw toStorageError(err, `downloadUrl ${location}`);
    }
  }

  async delete(target: StoredFileRef): Promise<void> {
    const { key, location } = this.objectRef(target);
    // The file first: once it is gone the file is invisible, whatever happens to the sidecar.
    for (const objectKey of [key, key + FILEMETA_SIDECAR_SUFFIX]) {
      try {
        await withRetry(() =>
          this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey })),
        );
      } catch (err) {
        if (!isNotFound(err)) throw toStorageError(err, `delete ${location}`);
      }
    }
  }

  /** `<key>.filemeta.json`: the init JSON as the device sent it. */
  private async putSidecar(key: string, json: string, location: string): Promise<void> {
    try {
      await withRetry(() =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key + FILEMETA_SIDECAR_SUFFIX,
            Body: json,
            ContentType: 'application/json',
          }),
        ),
      );
    } catch (err) {
      throw toStorageError(err, `put the filemeta sidecar of ${location}`);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private objectRef(target: StoredFileRef): Omit<S3ObjectRef, 'metadata'> {
    const key = storageKey(this.prefix, target.clientId, target.fileId, target.name);
    return {
      client: this.client,
      bucket: this.bucket,
      key,
      location: `s3://${this.bucket}/${key}`,
    };
  }

  /**
   * Ids of the unfinished uploads of exactly `key` (the listing is by prefix). Servers that do
   * not implement ListMultipartUploads yield none: the caller still aborts the id it knows.
   */
  private async listUnfinishedUploads(key: string): Promise<string[]> {
    const ids: string[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: key,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
      } catch (err) {
        if (isUnsupported(err)) return ids;
        throw err;
      }
      for (const upload of page.Uploads ?? []) {
        if (upload.Key === key && upload.UploadId) ids.push(upload.UploadId);
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
    return ids;
  }
}
