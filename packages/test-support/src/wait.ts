export interface WaitForOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `predicate` until it returns true. A predicate that throws counts as "not yet"; the
 * last error becomes the timeout error's cause, so a failing probe explains itself.
 */
export async function waitFor(
  predicate: () => Promise<boolean> | boolean,
  opts: WaitForOptions = {},
): Promise<void> {
  const { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = opts;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await predicate()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, {
        cause: lastError,
      });
    }
    await sleep(intervalMs);
  }
}
