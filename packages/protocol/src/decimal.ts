import { MAX_OFFSET_EXCLUSIVE } from './limits.js';

const DIGITS = /^[0-9]+$/;
// 2^53 has 16 digits; anything longer (after leading zeros) is certainly too large.
const MAX_SIGNIFICANT_DIGITS = 16;

/**
 * An offset or size level: ASCII decimal digits only (leading zeros allowed; no sign, space,
 * exponent or fraction), value below 2^53 so it is exact as a number. Undefined otherwise.
 */
export function parseDecimalLevel(level: string): number | undefined {
  if (!DIGITS.test(level)) return undefined;
  const significant = level.replace(/^0+(?=.)/, '');
  if (significant.length > MAX_SIGNIFICANT_DIGITS) return undefined;
  // Rounding is monotonic and 2^53 is representable, so `>=` on the parsed double is exact.
  const value = Number(significant);
  return value < MAX_OFFSET_EXCLUSIVE ? value : undefined;
}

/** True for what {@link parseDecimalLevel} accepts as a value: a safe non-negative integer. */
export function isTopicNumber(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}
