import type { S3ClientConfig } from '@aws-sdk/client-s3';

/** Which stored file: a transfer (clientId, fileId) and the name its init gave. */
export interface StoredFileTarget {
  clientId: string;
  fileId: string;
  name: string;
  /** The init JSON as received; stored as EMQX's `filemeta` metadata. */
  filemetaJson: string;
}

/** Where a stat/read/locate call looks: only the identity of the file matters there. */
export type StoredFileRef = Pick<StoredFileTarget, 'clientId' | 'fileId' | 'name'>;

export interface CompletedFile {
  location: string;
  size: number;
  /** Lowercase hex SHA-256 of the stored bytes. */
  sha256: string;
}

export interface FileUpload {
  /**
   * Backend-specific id of the unfinished upload (S3: the multipart UploadId; file backend:
   * the temporary file's name), so an assembler can record it and a successor can abort it.
   */
  readonly uploadId: string;
  /**
   * Appends bytes. Resolves when the caller may write more (back-pressure); call it again only
   * after the previous call resolved. Memory stays bounded whatever the file size.
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Size and SHA-256 of everything written, hashed as it was written (callers need not hash
   * again). Ends the writing: call it after the last write() resolved.
   */
  written(): { size: number; sha256: string };
  /**
   * Makes the file visible atomically. Call it only after verifying the checksum; the backend
   * checks once more that what it stored has exactly this size and SHA-256, and aborts if not.
   */
  complete(expected: { size: number; sha256: string }): Promise<CompletedFile>;
  /** Nothing becomes visible. Idempotent, and a no-op after a successful complete(). */
  abort(): Promise<void>;
}

export interface StorageBackend {
  readonly kind: 'file' | 's3';
  /**
   * Why this backend can never store `target` (a key or path component over its length
   * limit), or undefined when it can. Checked at init, so the device is refused before it
   * uploads anything instead of its fin failing for ever.
   */
  keyProblem(target: StoredFileRef): string | undefined;
  /**
   * Starts writing `target`. `size`, when known, lets S3 store a file smaller than a part
   * with one PutObject instead of a multipart upload (3 requests); such an upload's
   * `uploadId` is '' (nothing to abort).
   */
  begin(target: StoredFileTarget, options?: { size?: number }): Promise<FileUpload>;
  /**
   * Aborts a predecessor's unfinished upload of this target: the one named by `uploadId`, on
   * the file backend every temporary file of this target (their names start with a digest of
   * the key), and on S3 any that ListMultipartUploads finds for exactly this key — unless
   * `plannedSize` says this file is written by one PutObject, which no predecessor of the same
   * size ever started a multipart upload for. Call it before begin(): it would abort the
   * caller's own unfinished upload of the same key too.
   */
  abortUnfinished(target: StoredFileRef, uploadId?: string, plannedSize?: number): Promise<void>;
  /** The location reported to devices: `file:///abs/path` or `s3://bucket/key`. */
  locate(target: StoredFileRef): string;
  /** Undefined when the file is not (yet) visible. */
  stat(
    target: StoredFileRef,
  ): Promise<{ size: number; metadata: Record<string, string> } | undefined>;
  /** Throws StorageError `not_found` when the file is not visible. */
  read(target: StoredFileRef): Promise<NodeJS.ReadableStream>;
  /** S3: a presigned GET URL; file backend: the file:// URL (no expiry applies). */
  downloadUrl(target: StoredFileRef, expiresInSeconds: number): Promise<string>;
  /** Idempotent: deleting a missing file succeeds. */
  delete(target: StoredFileRef): Promise<void>;
  close(): Promise<void>;
}

export interface StorageOptions {
  /** S3 multipart part size in bytes (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  /** S3 parts uploaded at once per file (default 2). */
  partConcurrency?: number;
  /** Extra S3 client configuration (credentials, endpoint, …); wins over the URL's. */
  s3?: Partial<S3ClientConfig>;
}

export type StorageErrorCode =
  | 'invalid_config'
  | 'invalid_target'
  | 'invalid_state'
  | 'not_found'
  | 'size_mismatch'
  | 'checksum_mismatch'
  | 'too_many_parts'
  | 'io';

/**
 * Every failure of a backend. `retryable` is true for transient conditions (network errors,
 * HTTP 5xx, throttling, a full disk) where the same work may succeed later.
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  readonly retryable: boolean;

  constructor(
    message: string,
    options: { code: StorageErrorCode; retryable?: boolean; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable ?? false;
  }
}
