import { setTimeout as sleep } from 'node:timers/promises';
import { StorageError } from './storage.js';

// Network failures that a later attempt may not see (a restarted server, a dropped socket).
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

// Local file-system conditions that clear up by themselves or by an operator freeing space.
const TRANSIENT_FS_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EDQUOT']);

// S3 error names that AWS documents as "retry later".
const TRANSIENT_S3_NAMES = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'Throttling',
  'ThrottlingException',
  'TimeoutError',
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

function shape(err: unknown): ErrorShape {
  return typeof err === 'object' && err !== null ? err : {};
}

export function httpStatusOf(err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode;
}

export function errorName(err: unknown): string {
  const { name, code } = shape(err);
  return typeof name === 'string' ? name : typeof code === 'string' ? code : '';
}

/** Whether the same request may succeed if simply tried again later. */
export function isTransient(err: unknown): boolean {
  if (err instanceof StorageError) return err.retryable;
  const e = shape(err);
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  // 501 Not Implemented is a 5xx that no retry will change.
  if (status !== undefined && ((status >= 500 && status !== 501) || status === 429)) return true;
  const code = typeof e.code === 'string' ? e.code : '';
  if (TRANSIENT_NETWORK_CODES.has(code) || TRANSIENT_FS_CODES.has(code)) return true;
  return TRANSIENT_S3_NAMES.has(errorName(err));
}

/** Wraps any failure as a StorageError, keeping the original as `cause`. */
export function toStorageError(err: unknown, context: string): StorageError {
  if (err instanceof StorageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const name = errorName(err);
  return new StorageError(`${context}: ${name ? `${name}: ` : ''}${message}`, {
    code: 'io',
    retryable: isTransient(err),
    cause: err,
  });
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

// The SDK already retries each request quickly; this outer loop rides out outages of a few
// seconds (a restarting S3 node) that would otherwise throw away a whole assembly.
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 4000 };

/** Runs `operation`, retrying transient failures with exponential back-off and full jitter. */
export async function withRetry<T>(
  operation: () => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (err) {
      if (attempt >= policy.attempts || !isTransient(err)) throw err;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.random() * ceiling);
    }
  }
}

/** A missing object, upload or file: what idempotent cleanup treats as already done. */
export function isNotFound(err: unknown): boolean {
  const name = errorName(err);
  return (
    httpStatusOf(err) === 404 ||
    shape(err).code === 'ENOENT' ||
    name === 'NoSuchUpload' ||
    name === 'NoSuchKey' ||
    name === 'NotFound'
  );
}

// What storage refuses for one object whatever the attempt: its key or its metadata.
// ENAMETOOLONG: a path component too long; EISDIR: a directory at the file's own path. Not
// ENOTDIR and the like: a file in the way may block every target (the temp dir), not one.
const REFUSED_FS_CODES = new Set(['ENAMETOOLONG', 'EISDIR']);
// Only the S3 errors about the object itself: many other 400s are not (RequestTimeout,
// IncompleteBody, BadDigest are transient; AuthorizationHeaderMalformed, ExpiredToken hit
// every object).
const REFUSED_S3_NAMES = new Set([
  'KeyTooLongError',
  'MetadataTooLarge',
  'InvalidObjectName',
  'EntityTooLarge',
]);

/**
 * Whether storage refuses this very object for good — its key (too long, a path a file
 * blocks) or its metadata (too large) — so that no later attempt can store it. Not a refusal
 * of every object (denied access, a missing bucket): that is the operator's to fix, and a
 * later attempt may succeed. Looks through `cause`s (a StorageError wraps the original).
 */
export function isRefusedForGood(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; depth++) {
    if (isTransient(e)) return false;
    if (e instanceof StorageError) {
      if (e.code === 'invalid_target' || e.code === 'too_many_parts') return true;
    } else {
      const s = shape(e);
      if (typeof s.code === 'string' && REFUSED_FS_CODES.has(s.code)) return true;
      if (REFUSED_S3_NAMES.has(errorName(e))) return true;
    }
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}
