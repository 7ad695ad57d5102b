import { toStorageError } from './errors.js';
import type { ContentDigest } from './content-digest.js';
import { StorageError, type CompletedFile } from './storage.js';

type Phase = 'open' | 'busy' | 'failed' | 'completed' | 'aborted';

/**
 * The states every FileUpload goes through, shared by the backends: one write() or complete()
 * at a time; a failure poisons the upload (a half-written part cannot be trusted), after which
 * only abort() is allowed; abort() wins over anything still in flight.
 */
export class UploadLifecycle {
  private phase: Phase = 'open';
  private failure: StorageError | undefined;
  private discarding: Promise<void> | undefined;
  private discardFailed = false;

  /** `subject` names the file in error messages (its location). */
  constructor(private readonly subject: string) {}

  /** Runs a write or complete exclusively; `done` is the phase after success. */
  async run<T>(operation: string, body: () => T | Promise<T>, done: Phase = 'open'): Promise<T> {
    if (this.phase !== 'open') {
      throw (
        this.failure ??
        new StorageError(`${operation}() on an upload of ${this.subject} that is ${this.phase}`, {
          code: 'invalid_state',
        })
      );
    }
    this.phase = 'busy';
    try {
      const result = await body();
      if (this.wasAborted()) throw this.abortedError(operation);
      this.phase = done;
      return result;
    } catch (err) {
      if (this.wasAborted()) throw this.abortedError(operation);
      const failure = toStorageError(err, `${operation} ${this.subject}`);
      this.phase = 'failed';
      this.failure = failure;
      throw failure;
    }
  }

  /**
   * Marks the upload aborted and runs `discard` once; concurrent and repeated calls share its
   * result, a failed discard is tried again by the next call, a completed upload is left alone.
   */
  abort(discard: () => Promise<void>): Promise<void> {
    if (this.phase === 'completed') return Promise.resolve();
    if (this.phase !== 'aborted' || this.discardFailed) {
      this.phase = 'aborted';
      this.discardFailed = false;
      this.discarding = discard().catch((err: unknown) => {
        this.discardFailed = true;
        throw toStorageError(err, `abort ${this.subject}`);
      });
    }
    return this.discarding ?? Promise.resolve();
  }

  /**
   * complete() of every backend: checks what was written against `expected`, runs `publish`
   * (which makes the file visible and returns its location) exclusively, and on failure leaves
   * nothing behind (`abort`): the caller redoes the file from the start. A complete() refused
   * because a write is still running changes nothing.
   */
  async complete(
    expected: { size: number; sha256: string },
    digest: ContentDigest,
    publish: (content: { size: number; sha256: string }) => Promise<string>,
    abort: () => Promise<void>,
  ): Promise<CompletedFile> {
    try {
      return await this.run(
        'complete',
        async () => {
          const content = digest.result();
          assertSameContent(content, expected);
          return { location: await publish(content), ...content };
        },
        'completed',
      );
    } catch (err) {
      if (this.failed) await abort().catch(() => undefined);
      throw err;
    }
  }

  /** Whether a write or complete failed, so only abort() (cleanup) is left to do. */
  get failed(): boolean {
    return this.phase === 'failed';
  }

  /** For work that outlives an await inside `body`: once aborted, start nothing new. */
  get aborted(): boolean {
    return this.wasAborted();
  }

  // A method, not an inline comparison: abort() may change the phase while `body` awaits.
  private wasAborted(): boolean {
    return this.phase === 'aborted';
  }

  private abortedError(operation: string): StorageError {
    return new StorageError(`${operation}() of ${this.subject} interrupted by abort()`, {
      code: 'invalid_state',
    });
  }
}

/** Compares what a backend stored with what the caller verified; throws on any difference. */
export function assertSameContent(
  stored: { size: number; sha256: string },
  expected: { size: number; sha256: string },
): void {
  if (stored.size !== expected.size) {
    throw new StorageError(`stored ${stored.size} bytes, but the file has ${expected.size}`, {
      code: 'size_mismatch',
    });
  }
  if (stored.sha256 !== expected.sha256.toLowerCase()) {
    throw new StorageError(
      `stored bytes have SHA-256 ${stored.sha256}, but the file has ${expected.sha256}`,
      { code: 'checksum_mismatch' },
    );
  }
}
