/**
 * docs/protocol.md "Limits": the defaults. Every one is configurable per deployment; these are
 * what a service uses when its configuration says nothing.
 */
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Larger segments are accepted and split internally, so this bounds one stored piece. */
export const DEFAULT_MAX_SEGMENT_PAYLOAD_BYTES = 16 * MiB;
export const DEFAULT_MAX_FILE_SIZE_BYTES = 64 * GiB;
export const DEFAULT_MAX_ACTIVE_TRANSFERS = 16;
export const DEFAULT_SEGMENTS_TTL_SECONDS = 24 * 60 * 60;
export const MIN_SEGMENTS_TTL_SECONDS = 5 * 60;
export const MAX_SEGMENTS_TTL_SECONDS = 7 * 24 * 60 * 60;
export const DEFAULT_FIN_GRACE_MS = 30_000;
/** An init payload's size (MQFT_MAX_FILEMETA_BYTES): a 4 KiB user_data and a long name fit. */
export const DEFAULT_MAX_FILEMETA_BYTES = 16 * KiB;
/** An init payload's nesting depth, the object itself being level 1 (MQFT_MAX_FILEMETA_DEPTH). */
export const DEFAULT_MAX_FILEMETA_DEPTH = 16;

/** Fixed by the protocol, not configurable. */
export const MAX_FILE_ID_BYTES = 255;
export const MAX_CLIENT_ID_BYTES = 65_535;
export const MAX_FILE_NAME_BYTES = 240;
/** The largest MQFT_MAX_FILEMETA_BYTES. */
export const MAX_FILEMETA_PAYLOAD_BYTES = 64 * KiB;
/**
 * The largest MQFT_MAX_FILEMETA_DEPTH. The API returns user_data as a google.protobuf.Struct,
 * and protobuf decoders stop at 100 nested messages (ts-proto, protobuf-es, C++, Go): a
 * response and its Transfer are 2, a non-object user_data's {"value": …} wrapper 3, and every
 * JSON level at most 3 more (Value, Struct, Struct.FieldsEntry). 2 + 3 + 3 × 31 = 98, so user_data
 * may nest 31 levels, the init object around it 32.
 */
export const MAX_FILEMETA_DEPTH = 32;
export const MAX_USER_DATA_BYTES = 4 * KiB;
/** Offsets and sizes must stay exact in a JavaScript number. */
export const MAX_OFFSET_EXCLUSIVE = 2 ** 53;

export interface SegmentsTtlBounds {
  minSeconds: number;
  maxSeconds: number;
}

export const DEFAULT_SEGMENTS_TTL_BOUNDS: Readonly<SegmentsTtlBounds> = Object.freeze({
  minSeconds: MIN_SEGMENTS_TTL_SECONDS,
  maxSeconds: MAX_SEGMENTS_TTL_SECONDS,
});

/**
 * A device's `segments_ttl` brought into the configured bounds: a device may ask for a short
 * or long life for its segments, but not for one that outlives the stream or dies at once.
 * NaN (nothing sensible asked) gets the default; fractions round down to whole seconds.
 */
export function clampSegmentsTtl(
  seconds: number,
  bounds: SegmentsTtlBounds = DEFAULT_SEGMENTS_TTL_BOUNDS,
  fallbackSeconds: number = DEFAULT_SEGMENTS_TTL_SECONDS,
): number {
  const wanted = Number.isNaN(seconds) ? fallbackSeconds : Math.floor(seconds);
  return Math.min(bounds.maxSeconds, Math.max(bounds.minSeconds, wanted));
}
