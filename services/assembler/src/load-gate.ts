import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@mqft/config';
import { dueIndexKey, type RedisClient } from '@mqft/state';
import type { AssemblerConfig } from './config.js';
import type { AssemblerMetrics } from './metrics.js';

/** Why the cluster is behind (the `cause` label of mqft_assembler_busy_total). */
export type BusyCause = 'stream_fill' | 'backlog' | 'due_age' | 'storage_errors';

/** How often each assembler looks at the load (docs/internals.md "Flow control"). */
export const LOAD_LOOK_INTERVAL_MS = 1000;
/** The window over which storage errors are counted. */
const STORAGE_ERROR_WINDOW_MS = 10_000;

/**
 * Whether the cluster is behind, as this assembler saw it at its last look (every second):
 * then the init recorder answers inits of NEW transfers 0x97 busy, while transfers already
 * known go on (docs/internals.md "Flow control"). One look is a stream info and a consumer
 * info request to NATS and one ZRANGE on Redis.
 */
export interface LoadGate {
  /** The first reason the cluster is behind, or undefined when it is not. */
  behind(): BusyCause | undefined;
  stop(): void;
}

export type LoadSettings = Pick<
  AssemblerConfig,
  'stream' | 'busyStreamPercent' | 'busyBacklog' | 'busyDueAge' | 'busyStorageErrors'
>;

/** What one look found. */
export interface LoadSample {
  streamBytes: number;
  /** The stream's byte limit in force (-1: none). */
  streamMaxBytes: number;
  /** Messages not yet delivered to the assembler consumer. */
  backlog: number;
  /** How long the oldest overdue entry of the due index has waited (0: none overdue). */
  dueAgeMs: number;
  /** Storage operations that failed in this process within the last 10 s. */
  storageErrors: number;
}

/** The verdict for one sample: pure, so the thresholds are tested without a cluster. */
export function judgeLoad(sample: LoadSample, settings: LoadSettings): BusyCause | undefined {
  if (
    sample.streamMaxBytes > 0 &&
    sample.streamBytes * 100 >= sample.streamMaxBytes * settings.busyStreamPercent
  ) {
    return 'stream_fill';
  }
  if (settings.busyBacklog > 0 && sample.backlog >= settings.busyBacklog) return 'backlog';
  if (settings.busyDueAge > 0 && sample.dueAgeMs >= settings.busyDueAge) return 'due_age';
  if (settings.busyStorageErrors > 0 && sample.storageErrors >= settings.busyStorageErrors) {
    return 'storage_errors';
  }
  return undefined;
}

export function watchLoad(deps: {
  jsm: JetStreamManager;
  durable: string;
  /** Redis and the key prefix: the due index is read directly (one ZRANGE). */
  redis: RedisClient;
  redisPrefix: string;
  settings: LoadSettings;
  metrics: Pick<AssemblerMetrics, 'shedding' | 'storageErrors'>;
  logger: Logger;
  intervalMs?: number;
}): LoadGate {
  const { jsm, durable, redis, redisPrefix, settings, metrics, logger } = deps;
  let verdict: BusyCause | undefined;
  let looking = false;
  const errorCounts: { at: number; total: number }[] = [];

  const storageErrorsLately = async (now: number): Promise<number> => {
    const total = (await metrics.storageErrors.get()).values.reduce((sum, v) => sum + v.value, 0);
    errorCounts.push({ at: now, total });
    while (errorCounts.length > 1 && (errorCounts[0]?.at ?? now) < now - STORAGE_ERROR_WINDOW_MS) {
      errorCounts.shift();
    }
    return total - (errorCounts[0]?.total ?? total);
  };

  const look = async () => {
    if (looking) return;
    looking = true;
    try {
      const now = Date.now();
      const [stream, consumer, oldest, storageErrors] = await Promise.all([
        jsm.streams.info(settings.stream),
        jsm.consumers.info(settings.stream, durable),
        redis.zrange(dueIndexKey(redisPrefix), 0, 0, 'WITHSCORES'),
        storageErrorsLately(now),
      ]);
      const dueAt = oldest[1] === undefined ? now : Number(oldest[1]);
      const sample: LoadSample = {
        streamBytes: stream.state.bytes,
        streamMaxBytes: stream.config.max_bytes,
        backlog: consumer.num_pending,
        dueAgeMs: Math.max(0, now - dueAt),
        storageErrors,
      };
      const next = judgeLoad(sample, settings);
      if (next !== verdict) {
        if (next) logger.warn({ cause: next, ...sample }, 'cluster behind: new transfers get busy');
        else logger.info({ ...sample }, 'cluster caught up: new transfers admitted again');
      }
      verdict = next;
      metrics.shedding.set(verdict ? 1 : 0);
    } catch (err) {
      // NATS or Redis unreachable: recording fails too; keep the last verdict.
      logger.debug({ err }, 'load look failed');
    } finally {
      looking = false;
    }
  };
  void look();
  const timer = setInterval(() => void look(), deps.intervalMs ?? LOAD_LOOK_INTERVAL_MS);
  timer.unref();
  return {
    behind: () => verdict,
    stop: () => clearInterval(timer),
  };
}
