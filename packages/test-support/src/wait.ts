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

export interface ExpectQuietOptions {
  /** Pause between checks (default 50 ms). */
  intervalMs?: number;
  /** What stays unchanged, for the error message of a check that returns false. */
  what?: string;
}

/**
 * Asserts that nothing more happens for `ms`: runs `check` at once, every `intervalMs` and
 * at the end of the window, and fails on the first check that throws (its error, e.g. an
 * `expect` failure, is rethrown as is) or returns false. The one bounded wait a test may
 * use: an absence has no event to wait for, so the window says how long "nothing" means.
 */
export async function expectQuiet(
  ms: number,
  check: () => unknown,
  opts: ExpectQuietOptions = {},
): Promise<void> {
  const { intervalMs = 50, what = 'the quiet condition' } = opts;
  const started = Date.now();
  const end = started + ms;
  for (;;) {
    if ((await check()) === false) {
      throw new Error(`${what} failed after ${Date.now() - started} ms of a ${ms} ms quiet window`);
    }
    const left = end - Date.now();
    if (left <= 0) return;
    await sleep(Math.min(intervalMs, left));
  }
}
