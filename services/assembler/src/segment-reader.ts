import type { JetStreamManager } from '@nats-io/jetstream';
import type { PlanPiece } from './plan.js';

/** A segment the plan needs is no longer in the stream (expired, purged, or lost with NATS). */
export class SegmentsLostError extends Error {
  override name = 'SegmentsLostError';
}

/**
 * Streams the plan's bytes in file order, fetching stream messages by sequence with a bounded
 * window of direct gets in flight (docs/design.md: 94 MB/s one at a time, 255 MB/s with 32).
 * The pieces may come lazily (plannedPieces pages through Redis): memory is bounded by the
 * window × the largest message, whatever the number of pieces.
 */
export async function* readPlannedBytes(options: {
  jsm: JetStreamManager;
  stream: string;
  subject: string;
  pieces: Iterable<PlanPiece> | AsyncIterable<PlanPiece>;
  window: number;
  signal?: AbortSignal;
}): AsyncGenerator<Uint8Array> {
  const { jsm, stream, subject, pieces, window } = options;
  const fetchPiece = async (piece: PlanPiece): Promise<Uint8Array> => {
    // A direct get may be answered by a replica that has not caught up yet (R3 streams, after
    // a leader change): only the leader's "not found" means the message is gone.
    const message =
      (await jsm.direct.getMessage(stream, { seq: piece.seq })) ??
      (await jsm.streams.getMessage(stream, { seq: piece.seq }));
    if (!message || message.subject !== subject) {
      throw new SegmentsLostError(
        `stream message ${piece.seq} for offset ${piece.segmentOffset} is gone`,
      );
    }
    const start = piece.from - piece.segmentOffset;
    const end = piece.to - piece.segmentOffset;
    if (message.data.length < end)
      throw new SegmentsLostError(`stream message ${piece.seq} is shorter than recorded`);
    return message.data.subarray(start, end);
  };

  const inFlight: Promise<Uint8Array>[] = [];
  const source =
    Symbol.asyncIterator in pieces ? pieces[Symbol.asyncIterator]() : pieces[Symbol.iterator]();
  let exhausted = false;
  const fill = async (): Promise<void> => {
    while (!exhausted && inFlight.length < window) {
      const next = await source.next();
      if (next.done === true) {
        exhausted = true;
        return;
      }
      const promise = fetchPiece(next.value);
      promise.catch(() => undefined); // observed when awaited; avoid unhandled rejections meanwhile
      inFlight.push(promise);
    }
  };
  try {
    await fill();
    while (inFlight.length > 0) {
      options.signal?.throwIfAborted();
      const bytes = await (inFlight.shift() as Promise<Uint8Array>);
      await fill();
      yield bytes;
    }
  } finally {
    if (!exhausted) await source.return?.();
  }
}
