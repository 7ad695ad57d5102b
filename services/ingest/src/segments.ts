/**
 * A segment larger than what one NATS message may carry is stored as several messages,
 * each with its own offset. Pure functions: the limits come from the caller.
 */

export interface SegmentPart {
  /** Byte offset of this part in the file. */
  offset: number;
  /** A view into the segment's payload (no copy). */
  body: Uint8Array;
}

/**
 * Room left in a NATS message for the headers of a stored segment part; `replyBytes`: the
 * length of its Mqft-Reply header value (encodeReply), which every part carries.
 */
export function partHeaderMargin(key: string, replyBytes = 0): number {
  // NATS/1.0, Mqft-Kind, Mqft-Offset and Nats-Msg-Id (a UUID) take under 200 bytes; the key
  // appears once (Mqft-Key) and is counted twice, for headroom.
  return 2 * key.length + replyBytes + 1024;
}

/** The largest payload of one stored part: the server's max_payload less the headers. */
export function maxPartBytes(maxPayload: number, key: string, replyBytes = 0): number {
  const bytes = maxPayload - partHeaderMargin(key, replyBytes);
  if (bytes < 1024) {
    throw new Error(`NATS max_payload ${maxPayload} leaves no room for segments of key ${key}`);
  }
  return bytes;
}

/** Splits a segment at `offset` into parts of at most `maxBytes`; an empty segment is one empty part. */
export function splitSegment(payload: Uint8Array, offset: number, maxBytes: number): SegmentPart[] {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
    throw new RangeError(`bad part size ${maxBytes}`);
  if (payload.byteLength <= maxBytes) return [{ offset, body: payload }];
  const parts: SegmentPart[] = [];
  for (let start = 0; start < payload.byteLength; start += maxBytes) {
    const end = Math.min(start + maxBytes, payload.byteLength);
    parts.push({ offset: offset + start, body: payload.subarray(start, end) });
  }
  return parts;
}
