// The mqft device SDK: uploads files over the MQTT connection a device already has, speaking
// the device protocol (docs/protocol.md) with flow control, retransmission and resume.
export { upload, Upload, type UploadEvents } from './upload.js';
export type { UploadResult, UploadStats } from './result.js';
export type { UploadOptions, RetryOptions } from './options.js';
export {
  DEFAULT_SEGMENT_SIZE,
  DEFAULT_WINDOW,
  DEFAULT_RESULT_TIMEOUT_MS,
  DEFAULT_RETRY,
} from './options.js';
export { UploadError, type UploadErrorKind } from './errors.js';
export type { UploadProgress } from './progress.js';
export type { UploadInput } from './source.js';
export { loadResumeRecord, type ResumeRecord } from './resume-record.js';
export { RangeSet, chunksOf, type Range, type Chunk } from './ranges.js';
export { TokenBucket } from './token-bucket.js';
export { ResultMatcher, parseResult } from './result-matcher.js';
