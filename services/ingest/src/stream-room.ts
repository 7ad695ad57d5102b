import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { IngestMetrics } from './metrics.js';

/** How often each ingest replica asks the stream how full it is. */
export const STREAM_ROOM_INTERVAL_MS = 1000;

/**
 * How full the command stream is, as this ingest last saw it. `full` is true above
 * MQFT_STREAM_FULL_PERCENT of the stream's byte limit, and after JetStream refused a publish
 * for lack of room, until the next look says otherwise.
 *
 * Why not simply let JetStream refuse at its limit: nats-server 2.9.10 undercounts each
 * message by about 30 bytes plus its subject when it checks a discard-new `max_bytes`, admits a
 * message that does not fit and then deletes the OLDEST messages to get back under the limit
 * (nats-server#4771, fixed in 2.10.5; reproduced here: limit 4,351 B, six 1 KB publishes all
 * acked, three kept). Refusing before the limit keeps the stream off that edge as long as less
 * than the remaining percentage arrives within one interval.
 */
export interface StreamRoom {
  readonly full: boolean;
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
  let full = false;
  let looking = false;
  const look = async () => {
    if (looking) return;
    looking = true;
    try {
      const info = await jsm.streams.info(options.stream);
      const limit = info.config.max_bytes;
      const ratio = limit > 0 ? info.state.bytes / limit : 0;
      options.metrics.streamFillRatio.set(ratio);
      const wasFull = full;
      full = ratio * 100 >= options.fullPercent;
      if (full !== wasFull) {
        const detail = { bytes: info.state.bytes, limit, fullPercent: options.fullPercent };
        if (full) options.logger.warn(detail, 'stream nearly full: inits and segments get busy');
        else options.logger.info(detail, 'stream has room again');
      }
    } catch (err) {
      // NATS unreachable: the publishes themselves fail and are retried; keep the last view.
      options.logger.debug({ err }, 'stream info unavailable');
    } finally {
      looking = false;
    }
  };
  void look();
  const timer = setInterval(() => void look(), options.intervalMs ?? STREAM_ROOM_INTERVAL_MS);
  timer.unref();
  return {
    get full() {
      return full;
    },
    markFull() {
      full = true;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
