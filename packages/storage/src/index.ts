export {
  StorageError,
  type CompletedFile,
  type FileUpload,
  type StorageBackend,
  type StorageErrorCode,
  type StorageOptions,
  type StoredFileRef,
  type StoredFileTarget,
} from './storage.js';
export { createStorage, fileStorageRoot, parseS3Url } from './create-storage.js';
export { isRefusedForGood } from './errors.js';
export { FileStorage } from './file.js';
export {
  S3Storage,
  DEFAULT_PART_CONCURRENCY,
  DEFAULT_PART_SIZE,
  MIN_PART_SIZE,
  type S3StorageOptions,
} from './s3.js';
