/**
 * The delay before attempt `attempt + 1` after `attempt` failed (1-based): `baseMs` doubled for
 * each earlier failure, at most `maxMs`, with "equal jitter" (half fixed, half random) so that
 * the retries of many outcomes failed at once do not arrive together.
 */
export function retryDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}
