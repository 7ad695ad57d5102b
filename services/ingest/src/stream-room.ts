import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { IngestMetrics } from './metrics.js';

/** How often each ingest replica asks the stream how full it is. */
export const STREAM_ROOM_INTERVAL_MS = 1000;

/**
 * How full the command stream is, as this ingest last saw it (one stream info a second) plus
 * what this ingest has sent since. A command that adds data is let through only while that
 * stays below MQFT_STREAM_FULL_PERCENT of the stream's byte limit; after JetStream refused a
 * publish for lack of room, nothing is let through until the next look.
 *
 * Why not simply let JetStream refuse at its limit: nats-server 2.9.10 undercounts each
 * message by about 30 bytes plus its subject when it checks a discard-new `max_bytes`, admits a
 * message that does not fit and then deletes the OLDEST messages to get back under the limit
 * (nats-server#4771, fixed upstream by PR #4772, 2.10 series; reproduced: limit 4,351 B, six 1 KB publishes all
 * acked, three kept). Refusing before the limit keeps the stream off that edge as long as the
 * other replicas send less than the remaining percentage within one look.
 */
export interface StreamRoom {
  /**
   * Takes room for `bytes` about to be published: false (and nothing taken) when the stream
   * would then be above the full percentage.
   */
  reserve(bytes: number): boolean;
  /** JetStream just refused a publish for lack of room. */
  markFull(): void;
  stop(): void;
}

export function watchStreamRoom(
  jsm: JetStreamManager,
  options: {
    stream: string;
    fullPercent: number;
    metrics: Pick<IngestMetrics, 'streamFillRatio'>;
    logger: Logger;
    intervalMs?: number;
  },
): StreamRoom {
  let stored = 0; // at the last look, plus what this ingest reserved since
  let threshold = Number.POSITIVE_INFINITY; // bytes; none while the limit is unknown
  let refused = false;
  let full = false;
  let looking = false;
  const look = async () => {
    if (looking) return;
    looking = true;
    try {
      const info = await jsm.streams.info(options.stream);
      const limit = info.config.max_bytes;
      stored = info.state.bytes;
      threshold = limit > 0 ? (limit * options.fullPercent) / 100 : Number.POSITIVE_INFINITY;
      options.metrics.streamFillRatio.set(limit > 0 ? stored / limit : 0);
      report(stored >= threshold || refused, { bytes: stored, limit, refused });
      refused = false;
    } catch (err) {
      // NATS unreachable: the publishes themselves fail and are retried; keep the last view.
      options.logger.debug({ err }, 'stream info unavailable');
    } finally {
      looking = false;
    }
  };
  const report = (now: boolean, detail: object) => {
    if (now === full) return;
    full = now;
    const fullPercent = options.fullPercent;
    if (full)
      options.logger.warn({ ...detail, fullPercent }, 'stream full: inits and segments get busy');
    else options.logger.info({ ...detail, fullPercent }, 'stream has room again');
  };
  void look();
  const timer = setInterval(() => void look(), options.intervalMs ?? STREAM_ROOM_INTERVAL_MS);
  timer.unref();
  return {
    // Transitions are logged by the looks only (at most one line a second per change), not
    // per refused command: under pressure that would be a line per device message.
    reserve(bytes) {
      if (refused || stored + bytes > threshold) return false;
      stored += bytes;
      return true;
    },
    markFull() {
      refused = true;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/**
 * The largest file whose segments can be in the stream at once (below the full mark): a
 * larger one could never be assembled, and would be answered busy until its device gave up,
 * so ingest refuses it at once with file_too_large instead.
 */
export function largestStorableFile(
  maxFileSize: number,
  streamMaxBytes: number,
  fullPercent: number,
): number {
  return Math.min(maxFileSize, Math.floor((streamMaxBytes * fullPercent) / 100));
}
