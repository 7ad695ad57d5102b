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

/** S3's limit on an object's user-defined metadata: the UTF-8 bytes of its keys and values. */
export const S3_USER_METADATA_BYTES = 2048;
/** The object beside a file whose init JSON does not fit its metadata: `<key>.filemeta.json`. */
export const FILEMETA_SIDECAR_SUFFIX = '.filemeta.json';
/** Metadata entry that says the full init JSON is in the sidecar object. */
export const FILEMETA_SIDECAR_ENTRY = 'filemeta-sidecar';
// The init fields a subset keeps (user_data and unknown fields go only to the sidecar).
const SUBSET_FIELDS = ['name', 'size', 'checksum', 'expire_at', 'segments_ttl'] as const;

/** What an object carries: its metadata, and the full init JSON for a sidecar when needed. */
export interface S3FileMetadata {
  metadata: Record<string, string>;
  /** The init JSON as received, for `<key>.filemeta.json`; undefined when the metadata holds it. */
  sidecar: string | undefined;
}

/** Bytes S3 counts against {@link S3_USER_METADATA_BYTES} (keys counted with `x-amz-meta-`). */
export function metadataBytes(metadata: Record<string, string>): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(metadata))
    bytes += Buffer.byteLength(`x-amz-meta-${key}`) + Buffer.byteLength(value);
  return bytes;
}

/**
 * EMQX's four metadata entries (sent as x-amz-meta-*), set when the upload is created, when
 * they fit S3's 2 KB. Otherwise (a 4 KiB user_data, a long clientId) the full init JSON goes to
 * the sidecar object `<key>.filemeta.json`, and `filemeta` holds a subset (name, size,
 * checksum, expire_at, segments_ttl) with `filemeta-sidecar: 1`; clientid and fileid (also in
 * the key) and then the name are left out if even that does not fit.
 */
export function emqxMetadata(target: StoredFileTarget): S3FileMetadata {
  const ids = { clientid: headerSafe(target.clientId), fileid: headerSafe(target.fileId) };
  const full = { ...ids, filemeta: asciiJson(target.filemetaJson), 'filemeta-vsn': '1' };
  if (metadataBytes(full) <= S3_USER_METADATA_BYTES) return { metadata: full, sidecar: undefined };
  const parsed = parseFilemeta(target.filemetaJson) as Record<string, unknown>;
  const subset = (fields: readonly string[]) => {
    const kept: Record<string, unknown> = {};
    for (const field of fields) if (Object.hasOwn(parsed, field)) kept[field] = parsed[field];
    return asciiJson(JSON.stringify(kept));
  };
  const entries = (filemeta: string) => ({
    filemeta,
    'filemeta-vsn': '1',
    [FILEMETA_SIDECAR_ENTRY]: '1',
  });
  const candidates = [
    { ...ids, ...entries(subset(SUBSET_FIELDS)) },
    entries(subset(SUBSET_FIELDS)),
    entries(subset(SUBSET_FIELDS.filter((f) => f !== 'name'))),
  ];
  const metadata =
    candidates.find((c) => metadataBytes(c) <= S3_USER_METADATA_BYTES) ??
    (candidates[candidates.length - 1] as Record<string, string>);
  return { metadata, sidecar: target.filemetaJson };
}

/** Metadata as read back from S3, with encoded words decoded. */
export function decodeMetadata(
  metadata: Record<string, string> | undefined,
): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) decoded[key] = fromHeader(value);
  return decoded;
}
