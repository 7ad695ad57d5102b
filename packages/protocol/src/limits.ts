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

/** Fixed by the protocol, not configurable. */
export const MAX_FILE_ID_BYTES = 255;
export const MAX_CLIENT_ID_BYTES = 65_535;
export const MAX_FILE_NAME_BYTES = 240;
export const MAX_FILEMETA_PAYLOAD_BYTES = 64 * KiB;
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
