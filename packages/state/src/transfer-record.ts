import { parseTransferKey } from '@mqft/protocol';
import { transferKeys } from './keys.js';
import type { RedisClient } from './redis.js';

/** What Redis knows of one transfer, as read back from its meta hash. */
export type TransferState = 'receiving' | 'assembling' | 'complete' | 'failed' | 'aborted';

export interface TransferRecord {
  key: string;
  clientId: string;
  fileId: string;
  state: TransferState;
  name?: string;
  filemeta?: string;
  declaredSize?: number;
  finSize?: number;
  finAt?: number;
  finReply?: string;
  checksum?: string;
  expectedChecksum?: string;
  bytes: number;
  segCount: number;
  location?: string;
  size?: number;
  createdAt?: number;
  updatedAt?: number;
  completedAt?: number;
  /** When retention deletes the stored file and this record (MQFT_RETENTION_*), if it does. */
  deleteAt?: number;
  /** When the stored file was deleted through the API (the transfer stays complete). */
  deletedAt?: number;
  errorReason?: string;
  /** failed: why, as a bounded word (storage_refused, invalid_data, retries_exhausted, …). */
  failCause?: string;
  /** Failed assembly attempts so far, and holders that died while assembling. */
  attempts?: number;
  deaths?: number;
  /** A failed attempt's back-off: no assembly before this. */
  retryAt?: number;
  /** The first missing ranges the last failed fin reported (MAX_MISSING_RANGES at most). */
  missing?: [number, number][];
  /** More ranges were missing than `missing` lists. */
  missingMore?: boolean;
  uploadId?: string;
  ttlMs?: number;
}

const num = (text: string | undefined): number | undefined =>
  text === undefined || text === '' ? undefined : Number(text);

/**
 * The stored `missing` field: `{"ranges": […], "more": true}` when the list was cut, else
 * the ranges alone (`[[start, end], …]`, as before the cut existed).
 */
export function encodeMissing(missing: readonly [number, number][], more = false): string {
  return JSON.stringify(more ? { ranges: missing, more: true } : missing);
}

function parseMissing(text: string | undefined): {
  missing?: [number, number][];
  missingMore?: boolean;
} {
  if (!text) return {};
  const value = JSON.parse(text) as
    [number, number][] | { ranges: [number, number][]; more?: boolean };
  if (Array.isArray(value)) return { missing: value };
  return value.more === true
    ? { missing: value.ranges, missingMore: true }
    : { missing: value.ranges };
}

export function parseTransferRecord(
  key: string,
  hash: Record<string, string>,
): TransferRecord | undefined {
  if (!hash.state) return undefined;
  const record: TransferRecord = {
    key,
    clientId: hash.clientId ?? '',
    fileId: hash.fileId ?? '',
    state: hash.state as TransferState,
    bytes: num(hash.bytes) ?? 0,
    segCount: num(hash.segCount) ?? 0,
  };
  const optional: Partial<TransferRecord> = {
    name: hash.name,
    filemeta: hash.filemeta,
    declaredSize: num(hash.declaredSize),
    finSize: num(hash.finSize),
    finAt: num(hash.finAt),
    finReply: hash.finReply,
    checksum: hash.checksum,
    expectedChecksum: hash.finChecksum ?? hash.initChecksum,
    location: hash.location,
    size: num(hash.size),
    createdAt: num(hash.createdAt),
    updatedAt: num(hash.updatedAt),
    completedAt: num(hash.completedAt),
    deleteAt: num(hash.deleteAt),
    deletedAt: num(hash.deletedAt),
    errorReason: hash.errorReason,
    failCause: hash.failCause,
    attempts: num(hash.attempts),
    deaths: num(hash.deaths),
    retryAt: num(hash.retryAt),
    ...parseMissing(hash.missing),
    uploadId: hash.uploadId,
    ttlMs: num(hash.ttlMs),
  };
  for (const [field, value] of Object.entries(optional)) {
    if (value !== undefined) (record as unknown as Record<string, unknown>)[field] = value;
  }
  return record;
}

/**
 * The one reader of a transfer's record, for the assemblers and the API alike. A meta hash
 * may lack the ids (a bare abort or fin of old): each missing one comes from the key.
 */
export function recordFromHash(
  key: string,
  hash: Record<string, string>,
): TransferRecord | undefined {
  const record = parseTransferRecord(key, hash);
  if (record && (record.clientId === '' || record.fileId === '')) {
    const id = parseTransferKey(key);
    if (id) {
      if (record.clientId === '') record.clientId = id.clientId;
      if (record.fileId === '') record.fileId = id.fileId;
    }
  }
  return record;
}

/** Reads one transfer's record; undefined when it is unknown or expired. */
export async function readTransfer(
  redis: RedisClient,
  prefix: string,
  key: string,
): Promise<TransferRecord | undefined> {
  return recordFromHash(key, await redis.hgetall(transferKeys(prefix, key).meta));
}

/** One recorded segment: where its bytes are in the stream. */
export interface SegmentLocation {
  offset: number;
  seq: number;
  length: number;
}

/**
 * Reads the segment index (`ZRANGE … WITHSCORES`: member `seq:length`, score the offset)
 * in the order Redis gave it: by offset.
 */
export function parseSegmentIndex(flat: readonly string[]): SegmentLocation[] {
  const segments: SegmentLocation[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const [seq, length] = (flat[i] as string).split(':');
    segments.push({ offset: Number(flat[i + 1]), seq: Number(seq), length: Number(length) });
  }
  return segments;
}
