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
  /** When the stored file was deleted through the API (the transfer stays complete). */
  deletedAt?: number;
  errorReason?: string;
  missing?: [number, number][];
  uploadId?: string;
  ttlMs?: number;
}

const num = (text: string | undefined): number | undefined =>
  text === undefined || text === '' ? undefined : Number(text);

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
    deletedAt: num(hash.deletedAt),
    errorReason: hash.errorReason,
    missing: hash.missing ? (JSON.parse(hash.missing) as [number, number][]) : undefined,
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

export function parseSegmentMap(hash: Record<string, string>): SegmentLocation[] {
  const segments: SegmentLocation[] = [];
  for (const [offset, value] of Object.entries(hash)) {
    const [seq, length] = value.split(':');
    segments.push({ offset: Number(offset), seq: Number(seq), length: Number(length) });
  }
  return segments;
}
