/** Where an upload stands, as the `progress` event reports it. */
export interface UploadProgress {
  /** Bytes the cluster confirmed as durable (each byte counted once). */
  bytesConfirmed: number;
  totalBytes: number;
  /** Confirmed bytes per second over the last few seconds. */
  bytesPerSecond: number;
  /** Seconds left at the current rate; undefined while the rate is unknown or zero. */
  etaSeconds: number | undefined;
  /** bytesConfirmed / totalBytes (1 for an empty file). */
  fraction: number;
}

/** Measures the confirmation rate over a sliding window (default 5 s) of samples. */
export class ProgressMeter {
  private samples: { at: number; bytes: number }[] = [];

  constructor(
    readonly totalBytes: number,
    private readonly windowMs = 5_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records that `bytesConfirmed` bytes are confirmed now and returns the progress. */
  update(bytesConfirmed: number): UploadProgress {
    const at = this.now();
    this.samples.push({ at, bytes: bytesConfirmed });
    while (this.samples.length > 2 && (this.samples[1] as { at: number }).at < at - this.windowMs) {
      this.samples.shift();
    }
    return this.snapshot(bytesConfirmed);
  }

  snapshot(bytesConfirmed: number): UploadProgress {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    let rate = 0;
    if (first && last && last.at > first.at) {
      rate = ((last.bytes - first.bytes) / (last.at - first.at)) * 1000;
    }
    const remaining = this.totalBytes - bytesConfirmed;
    return {
      bytesConfirmed,
      totalBytes: this.totalBytes,
      bytesPerSecond: rate,
      etaSeconds: remaining === 0 ? 0 : rate > 0 ? remaining / rate : undefined,
      fraction: this.totalBytes === 0 ? 1 : bytesConfirmed / this.totalBytes,
    };
  }
}

/** Lets workers wait while an upload is paused. */
export class PauseGate {
  private waiters: (() => void)[] = [];
  paused = false;

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at once when not paused, else on resume(); rejects when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    if (!this.paused) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}
