/**
 * What a log line may show of a string: secrets never, device-supplied strings (clientId,
 * fileId, topic, names, keys derived from them) only up to a bounded length, so that a 64 KiB
 * clientId cannot make a 150 KB log line.
 */

/** The longest string a log field shows; longer ones are cut and say by how much. */
export const MAX_LOGGED_STRING_CHARS = 256;
/** Messages, error messages and stacks are allowed more. */
export const MAX_LOGGED_MESSAGE_CHARS = 2048;
export const REDACTED = '[redacted]';

// `scheme://user:password@host` and `scheme://token@host`: whatever sits before the `@`.
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;
/** Names of variables and fields whose value is a secret. */
const SECRET_NAME = /password|passwd|token|secret|authorization|credential/i;

/** `text` cut to `max` characters (UTF-16 units, never half a pair), marked when cut. */
export function cutForLog(text: string, max: number = MAX_LOGGED_STRING_CHARS): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…(${text.length - end} more chars)`;
}

/** The credentials inside every URL in `text` replaced with `[redacted]`. */
export function redactUrlCredentials(text: string): string {
  if (!text.includes('@') || !text.includes('://')) return text;
  return text.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
}

/** Whether a variable or field of this name holds a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** A string as a log line may show it: URL credentials redacted, then cut. */
export function loggable(text: string, max: number = MAX_LOGGED_STRING_CHARS): string {
  return cutForLog(redactUrlCredentials(text), max);
}

/**
 * The fields of a log object, safe to write: secret-named fields redacted, every string (also
 * inside nested plain objects and arrays, to a small depth) made {@link loggable}. Errors are
 * left to the `err` serializer.
 */
export function loggableFields(fields: Record<string, unknown>): Record<string, unknown> {
  return sanitize(fields, 0) as Record<string, unknown>;
}

const MAX_DEPTH = 4;

function sanitize(value: unknown, depth: number, name = ''): unknown {
  if (typeof value === 'string') return isSecretName(name) ? REDACTED : loggable(value);
  if (typeof value !== 'object' || value === null || value instanceof Error) return value;
  if (depth >= MAX_DEPTH || Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map((item) => sanitize(item, depth + 1, name));
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
    return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      isSecretName(key) && item !== undefined && item !== ''
        ? REDACTED
        : sanitize(item, depth + 1, key);
  }
  return out;
}
