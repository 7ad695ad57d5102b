import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command-line arguments: reported with the command's usage, exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with the errors turned into UsageErrors. */
export function parseCommand<T extends Options>(
  args: string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** `65536`, `64k`, `1.5M`, `2MiB` (binary units), optionally followed by `/s`. */
export function parseSize(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)(?:\/s)?$/i.exec(text.trim());
  const unit = SIZE_UNITS[(match?.[2] ?? 'x').toLowerCase()];
  if (!match || unit === undefined) throw new UsageError(`${what}: not a size: ${text}`);
  const value = Math.floor(Number(match[1]) * unit);
  if (value < 1) throw new UsageError(`${what} must be at least 1 byte`);
  return value;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `500ms`, `10s`, `2m`, `1h`, `7d`; a bare number is seconds. Returns milliseconds. */
export function parseDuration(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${what}: not a duration: ${text}`);
  return Math.round(Number(match[1]) * (DURATION_UNITS[match[2] ?? 's'] as number));
}

export function parseInteger(text: string, what: string, min = 1): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) {
    throw new UsageError(`${what} must be an integer ≥ ${min}, got ${text}`);
  }
  return Number(text);
}

export function oneOf<T extends string>(text: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`${what} must be one of ${allowed.join(', ')}, got ${text}`);
  }
  return text as T;
}
