import { isSha256Hex } from './checksum.js';
import { ProtocolError } from './errors.js';
import { utf8ByteLength } from './identifiers.js';
import { canonicalJson, isPlainObject, nestsDeeperThan } from './json-value.js';
import {
  DEFAULT_MAX_FILE_SIZE_BYTES,
  DEFAULT_MAX_FILEMETA_BYTES,
  DEFAULT_MAX_FILEMETA_DEPTH,
  MAX_FILEMETA_DEPTH,
  MAX_FILEMETA_PAYLOAD_BYTES,
  MAX_FILE_NAME_BYTES,
  MAX_USER_DATA_BYTES,
} from './limits.js';
import { isPrintableCodePoint } from './printable.js';

/** The init payload, reduced to the fields mqft knows (unknown fields are dropped). */
export interface FileMeta {
  name: string;
  /** Informational (progress, quota pre-check); fin's size is the truth. */
  size?: number;
  /** Lower-case hex SHA-256 of the whole file. */
  checksum?: string;
  /** Unix seconds. */
  expire_at?: number;
  /** Seconds, as asked; clamp with `clampSegmentsTtl` before use. */
  segments_ttl?: number;
  user_data?: unknown;
}

export interface FileMetaLimits {
  maxFileSize?: number;
  /** The payload's size in bytes (MQFT_MAX_FILEMETA_BYTES; at most 64 KiB). */
  maxBytes?: number;
  /** Nesting depth of the payload, the object itself being 1 (MQFT_MAX_FILEMETA_DEPTH; at most 32). */
  maxDepth?: number;
}

const FORBIDDEN_IN_NAME = ['/', '\\', ':'];
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses and checks an init payload (docs/protocol.md "Commands"). Throws only ProtocolError:
 * `invalid_filemeta_json` when it is not a JSON object in UTF-8 of at most `maxBytes`,
 * `invalid_filemeta` when it nests deeper than `maxDepth` (unknown fields included: the payload
 * is stored as sent) or a field breaks its rule, `file_too_large` when `size` exceeds
 * `maxFileSize` (by default the protocol's default limit).
 */
export function parseFileMeta(payload: Uint8Array, limits: FileMetaLimits = {}): FileMeta {
  const maxBytes = Math.min(
    limits.maxBytes ?? DEFAULT_MAX_FILEMETA_BYTES,
    MAX_FILEMETA_PAYLOAD_BYTES,
  );
  const maxDepth = Math.min(limits.maxDepth ?? DEFAULT_MAX_FILEMETA_DEPTH, MAX_FILEMETA_DEPTH);
  const json = decodeJsonObject(payload, maxBytes);
  if (nestsDeeperThan(json, maxDepth)) throw invalid(`nests deeper than ${maxDepth} levels`);
  const meta: FileMeta = { name: checkName(json['name']) };
  const size = optionalCount(json, 'size');
  if (size !== undefined) {
    const maxFileSize = limits.maxFileSize ?? DEFAULT_MAX_FILE_SIZE_BYTES;
    if (size > maxFileSize) {
      throw new ProtocolError('file_too_large', `size ${size} exceeds ${maxFileSize}`);
    }
    meta.size = size;
  }
  if (Object.hasOwn(json, 'checksum')) {
    const checksum = json['checksum'];
    if (typeof checksum !== 'string' || !isSha256Hex(checksum)) {
      throw new ProtocolError('invalid_filemeta', 'checksum is not 64 hex digits');
    }
    meta.checksum = checksum.toLowerCase();
  }
  const expireAt = optionalCount(json, 'expire_at');
  if (expireAt !== undefined) meta.expire_at = expireAt;
  const segmentsTtl = optionalCount(json, 'segments_ttl');
  if (segmentsTtl !== undefined) meta.segments_ttl = segmentsTtl;
  if (Object.hasOwn(json, 'user_data')) meta.user_data = checkUserData(json['user_data']);
  return meta;
}

/**
 * The metadata as one stable string (sorted keys at every level, checksum lower-case), so a
 * repeated init can be told apart from a conflicting one by string equality.
 */
export function canonicalFileMeta(meta: FileMeta): string {
  const known: Record<string, unknown> = { name: meta.name };
  if (meta.size !== undefined) known['size'] = meta.size;
  if (meta.checksum !== undefined) known['checksum'] = meta.checksum.toLowerCase();
  if (meta.expire_at !== undefined) known['expire_at'] = meta.expire_at;
  if (meta.segments_ttl !== undefined) known['segments_ttl'] = meta.segments_ttl;
  if (meta.user_data !== undefined) known['user_data'] = meta.user_data;
  return canonicalJson(known);
}

function decodeJsonObject(payload: Uint8Array, maxBytes: number): Record<string, unknown> {
  if (payload.byteLength > maxBytes) {
    const message = `payload is ${payload.byteLength} bytes, more than ${maxBytes}`;
    throw new ProtocolError('invalid_filemeta_json', message);
  }
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(payload));
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ProtocolError('invalid_filemeta_json', `not JSON in UTF-8: ${detail}`);
  }
  if (!isPlainObject(value)) {
    throw new ProtocolError('invalid_filemeta_json', 'not a JSON object');
  }
  return value;
}

/** A file name that is safe as the last component of a path or an object key. */
function checkName(name: unknown): string {
  if (typeof name !== 'string') throw invalid('name is missing or not a string');
  const bytes = utf8ByteLength(name);
  if (bytes < 1 || bytes > MAX_FILE_NAME_BYTES) {
    throw invalid(`name is ${bytes} UTF-8 bytes, not 1 to ${MAX_FILE_NAME_BYTES}`);
  }
  if (name === '.' || name === '..') throw invalid('name is . or ..');
  if (FORBIDDEN_IN_NAME.some((char) => name.includes(char))) {
    throw invalid('name contains /, \\ or :');
  }
  for (const char of name) {
    // A lone surrogate (from a JSON \u escape) is not printable either.
    if (!isPrintableCodePoint(char.codePointAt(0) ?? 0)) {
      throw invalid('name contains a non-printable character');
    }
  }
  return name;
}

/** An optional non-negative integer field, exact as a JavaScript number. */
function optionalCount(json: Record<string, unknown>, field: string): number | undefined {
  if (!Object.hasOwn(json, field)) return undefined;
  const value = json[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${field} is not a non-negative integer`);
  }
  return value;
}

/** user_data's depth is bounded with the whole payload's, before this runs. */
function checkUserData(userData: unknown): unknown {
  const bytes = utf8ByteLength(JSON.stringify(userData));
  if (bytes > MAX_USER_DATA_BYTES) {
    throw invalid(`user_data is ${bytes} bytes serialized, more than ${MAX_USER_DATA_BYTES}`);
  }
  return userData;
}

function invalid(message: string): ProtocolError {
  return new ProtocolError('invalid_filemeta', message);
}
