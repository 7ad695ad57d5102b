/**
 * A token bucket for a bandwidth cap in bytes per second. Tokens may go negative: a segment
 * larger than the bucket is sent once the debt it leaves is paid off, so the long-run rate
 * is exactly `rate` whatever the segment size. Starts empty, so even a short upload does
 * not exceed the cap with an initial burst.
 */
export class TokenBucket {
  private tokens = 0;
  private last: number;

  constructor(
    readonly rate: number,
    /** The most tokens saved up while idle (default: one second's worth). */
    readonly capacity: number = rate,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(rate > 0)) throw new RangeError(`rate must be positive, got ${rate}`);
    this.last = now();
  }

  /**
   * Takes `amount` tokens and says how long (ms) the caller must wait before using them.
   * Callers that reserve one after another are spaced `amount / rate` apart.
   */
  reserve(amount: number): number {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    this.tokens -= amount;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * 1000;
  }

  /** Waits until `amount` bytes may be sent (rejects when `signal` aborts). */
  async take(amount: number, signal?: AbortSignal): Promise<void> {
    const delay = this.reserve(amount);
    if (delay > 0) await sleep(delay, signal);
  }
}

/** setTimeout as a promise that an AbortSignal cuts short (rejecting with its reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
