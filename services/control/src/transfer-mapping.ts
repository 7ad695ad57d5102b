import {
  TransferState,
  type ByteRange,
  type Timestamp,
  type Transfer,
  type TransferError,
} from '@mqft/api';
import { isReasonDescription, reasonCodeOf } from '@mqft/protocol';
import type { TransferRecord, TransferState as RecordState } from '@mqft/state';

const STATE_OF: Readonly<Record<RecordState, TransferState>> = {
  receiving: TransferState.TRANSFER_STATE_RECEIVING,
  assembling: TransferState.TRANSFER_STATE_ASSEMBLING,
  complete: TransferState.TRANSFER_STATE_COMPLETE,
  failed: TransferState.TRANSFER_STATE_FAILED,
  aborted: TransferState.TRANSFER_STATE_ABORTED,
};

// Protobuf decoders (ts-proto's, protobuf-es, C++, Go) refuse more than 100 nested messages;
// a Transfer's user_data Struct starts inside two (the response, the Transfer).
const PROTOBUF_RECURSION_LIMIT = 100;
const STRUCT_DEPTH_IN_RESPONSE = 3;
/** What the API shows instead of a user_data that no protobuf client could decode. */
export const OMITTED_USER_DATA = Object.freeze({
  mqft_omitted: 'user_data nests deeper than a protobuf client decodes',
});

/** What the init JSON says beyond what Redis keeps in fields of its own. */
interface InitExtras {
  userData?: { [key: string]: unknown };
  expireAtMs?: number;
}

/**
 * The API's view of a transfer record. `now` decides EXPIRED: a transfer that has not been
 * aborted or failed is EXPIRED once the init's expire_at has passed.
 */
export function toTransfer(record: TransferRecord, now: number = Date.now()): Transfer {
  const extras = initExtras(record.filemeta);
  const size = record.state === 'complete' ? (record.size ?? record.finSize) : record.finSize;
  const checksum = record.state === 'complete' ? record.checksum : record.expectedChecksum;
  return {
    clientId: record.clientId,
    fileId: record.fileId,
    key: record.key,
    name: record.name ?? '',
    state: stateOf(record, extras.expireAtMs, now),
    size,
    declaredSize: record.declaredSize,
    checksum: checksum ?? '',
    bytesReceived: record.bytes,
    segmentCount: record.segCount,
    missing: (record.missing ?? []).map(([start, end]): ByteRange => ({ start, end })),
    location: record.location ?? '',
    userData: extras.userData,
    createTime: timestamp(record.createdAt),
    updateTime: timestamp(record.updatedAt),
    completeTime: record.state === 'complete' ? timestamp(record.completedAt) : undefined,
    expireTime: timestamp(extras.expireAtMs),
    error: transferError(record),
  };
}

export function stateOf(
  record: TransferRecord,
  expireAtMs: number | undefined,
  now: number,
): TransferState {
  const state = STATE_OF[record.state] ?? TransferState.TRANSFER_STATE_UNSPECIFIED;
  const final = record.state === 'aborted' || record.state === 'failed';
  if (!final && expireAtMs !== undefined && expireAtMs <= now)
    return TransferState.TRANSFER_STATE_EXPIRED;
  return state;
}

/** Milliseconds since the epoch as a protobuf Timestamp; undefined stays unset. */
export function timestamp(ms: number | undefined): Timestamp | undefined {
  if (ms === undefined || !Number.isFinite(ms)) return undefined;
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** A protobuf Timestamp as milliseconds since the epoch. */
export function millisOf(ts: Timestamp): number {
  return ts.seconds * 1000 + Math.floor(ts.nanos / 1e6);
}

function transferError(record: TransferRecord): TransferError | undefined {
  const reason = record.errorReason;
  if (reason === undefined || reason === '') return undefined;
  // An unknown description (a newer assembler) still shows; 0x80 is "retransmit", the code
  // of every transient failure.
  return {
    reasonCode: isReasonDescription(reason) ? reasonCodeOf(reason) : 0x80,
    reasonDescription: reason,
  };
}

/**
 * user_data becomes a Struct: an object as is, any other JSON value as {"value": …}.
 * expire_at is Unix seconds. A malformed init (never stored by ingest) yields neither.
 */
export function initExtras(filemeta: string | undefined): InitExtras {
  if (filemeta === undefined || filemeta === '') return {};
  let meta: unknown;
  try {
    meta = JSON.parse(filemeta);
  } catch {
    return {};
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return {};
  const extras: InitExtras = {};
  const { user_data: userData, expire_at: expireAt } = meta as Record<string, unknown>;
  if (userData !== undefined) {
    const isObject = typeof userData === 'object' && userData !== null && !Array.isArray(userData);
    const struct = isObject ? (userData as { [key: string]: unknown }) : { value: userData };
    // Init bounds the depth (MQFT_MAX_FILEMETA_DEPTH); a record stored before that bound
    // existed must still not make a whole list or watch undecodable.
    extras.userData =
      structMessageDepth(struct, STRUCT_DEPTH_IN_RESPONSE) > PROTOBUF_RECURSION_LIMIT
        ? { ...OMITTED_USER_DATA }
        : struct;
  }
  if (typeof expireAt === 'number' && Number.isFinite(expireAt))
    extras.expireAtMs = expireAt * 1000;
  return extras;
}

/**
 * The deepest nesting of protobuf messages `struct` becomes as a google.protobuf.Struct that
 * sits at message depth `structDepth`: every field adds a Struct.FieldsEntry and a Value, an
 * object value a Struct, an array a ListValue and a Value per element. Without recursion.
 */
export function structMessageDepth(struct: object, structDepth: number): number {
  let deepest = structDepth;
  const stack: { value: unknown; depth: number }[] = Object.values(struct).map((value) => ({
    value,
    depth: structDepth + 2, // FieldsEntry, Value
  }));
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, depth } = item;
    deepest = Math.max(deepest, depth);
    if (typeof value !== 'object' || value === null) continue;
    // An object: Struct, then FieldsEntry and Value per field; an array: ListValue, then Value.
    const childDepth = Array.isArray(value) ? depth + 2 : depth + 3;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(value)) stack.push({ value: child, depth: childDepth });
  }
  return deepest;
}
