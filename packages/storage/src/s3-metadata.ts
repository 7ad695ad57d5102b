import { parseFilemeta } from './filemeta.js';
import type { StoredFileTarget } from './storage.js';

// Header values that pass through HTTP unchanged: visible ASCII, inner spaces allowed
// (servers trim leading and trailing whitespace).
const PLAIN_HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
const ENCODED_WORD = /=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/gi;
const ENCODED_WORDS_ONLY = /^\s*(?:=\?UTF-8\?B\?[A-Za-z0-9+/=]*\?=\s*)+$/i;

/**
 * A metadata value as an HTTP header can carry it. Device strings may hold any Unicode (or
 * U+0000, the anonymous clientId), which Node refuses in headers and SigV4 would sign
 * differently from what is sent; such values are RFC 2047 encoded words, the form S3 itself
 * uses for non-ASCII metadata.
 */
export function headerSafe(value: string): string {
  if (PLAIN_HEADER_VALUE.test(value) && !value.startsWith('=?')) return value;
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** The inverse of {@link headerSafe}; other values are returned as they are. */
export function fromHeader(value: string): string {
  if (!ENCODED_WORDS_ONLY.test(value)) return value;
  const bytes = [...value.matchAll(ENCODED_WORD)].map((m) => Buffer.from(m[1] ?? '', 'base64'));
  return Buffer.concat(bytes).toString('utf8');
}

/**
 * The init JSON as EMQX stores it in `x-amz-meta-filemeta`: compact, with every non-ASCII
 * character `\u`-escaped, so the value is plain ASCII and still the same JSON.
 */
export function asciiJson(json: string): string {
  return JSON.stringify(parseFilemeta(json)).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** EMQX's four metadata entries (sent as x-amz-meta-*); set when the upload is created. */
export function emqxMetadata(target: StoredFileTarget): Record<string, string> {
  return {
    clientid: headerSafe(target.clientId),
    fileid: headerSafe(target.fileId),
    filemeta: asciiJson(target.filemetaJson),
    'filemeta-vsn': '1',
  };
}

/** Metadata as read back from S3, with encoded words decoded. */
export function decodeMetadata(
  metadata: Record<string, string> | undefined,
): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) decoded[key] = fromHeader(value);
  return decoded;
}
