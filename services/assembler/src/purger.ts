import { sleep, type Logger } from '@mqft/config';
import { commandSubject, commandSubjects, purgeLeftovers, purgeSubject } from '@mqft/stream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { LEFTOVER_CHECK_MS, RecentPurges } from './recent-purges.js';

/** A complete transfer's purge: attempts, 1 s apart (a NATS restart takes about that). */
const PURGE_ATTEMPTS = 15;
const PURGE_RETRY_MS = 1000;

export interface PurgerOptions {
  jsm: JetStreamManager;
  stream: string;
  logger: Logger;
  /** Attempts of one purge before it is given up (logged). */
  attempts?: number;
  /** Pause between two attempts. */
  retryMs?: number;
  /**
   * Whether the stream has more than one replica (MQFT_STREAM_REPLICAS > 1; the default):
   * then each purge's walk ends with a request to the stream leader (see purgeSubject).
   */
  replicated?: boolean;
}

/**
 * Removes the segments of complete transfers from the stream, one per running assembler (it
 * lives in the AssemblerContext). It keeps what nats-server 2.9 needs beyond one purge (see
 * RecentPurges): the transfers purged lately, purged again after a reconnect and checked once
 * for leftovers; and the purges running in the background, which shutdown waits for.
 */
export class Purger {
  private readonly recentPurges = new RecentPurges();
  private readonly running = new Set<Promise<void>>();
  private leftoverTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly attempts: number;
  private readonly retryMs: number;

  constructor(private readonly options: PurgerOptions) {
    this.attempts = options.attempts ?? PURGE_ATTEMPTS;
    this.retryMs = options.retryMs ?? PURGE_RETRY_MS;
  }

  /**
   * The transfer is complete (and no longer leased), so nothing would purge its segments later:
   * a NATS outage here must not leave them in the stream until max_age (found by test/chaos,
   * nats-restart). Retried for a while; a failure after that is logged, not thrown. `seqs` are
   * the stream sequences of its segments (deleted without looking them up).
   */
  async purgeCompleted(key: string, seqs: readonly number[] = []): Promise<void> {
    const { jsm, stream, logger } = this.options;
    const subject = commandSubject(stream, key);
    for (let attempt = 1; ; attempt++) {
      try {
        await purgeSubject(jsm, stream, subject, undefined, seqs, this.options.replicated ?? true);
        this.recentPurges.remember(key);
        return;
      } catch (err) {
        if (attempt >= this.attempts) {
          logger.warn({ err, key }, 'segments of a complete transfer not purged');
          return;
        }
        await sleep(this.retryMs);
      }
    }
  }

  /**
   * Has the subject of a finished transfer checked for leftovers (and purged again after a
   * reconnect) like one this process purged: a late copy of one of its commands was deleted
   * just now, and nats-server 2.9.10 now and then keeps a message it acknowledged deleting.
   */
  checkLater(key: string): void {
    this.recentPurges.remember(key);
  }

  /**
   * {@link purgeCompleted} in the background, then `after` (a failure of either is logged);
   * {@link settled} waits for it.
   */
  purgeInBackground(key: string, seqs: readonly number[], after: () => Promise<void>): void {
    this.track(this.purgeCompleted(key, seqs).then(after), (err) =>
      this.options.logger.warn({ err, key }, 'purge after completion failed'),
    );
  }

  /**
   * Purges again, in the background, what was purged in the last RECENT_PURGE_MS: NATS
   * reconnected. Nothing after {@link stop}.
   */
  repurgeRecent(now = Date.now()): void {
    const keys = this.recentPurges.recent(now);
    if (this.stopped || keys.length === 0) return;
    this.track(
      (async () => {
        for (const key of keys) await this.purgeCompleted(key);
      })(),
      (err) => this.options.logger.warn({ err }, 'purging again after a reconnect failed'),
    );
  }

  /**
   * Checks the transfers purged LEFTOVER_CHECK_MS ago or earlier for messages nats-server kept,
   * all in one stream info request, and deletes them. Never throws.
   */
  async checkLeftovers(now = Date.now()): Promise<void> {
    const keys = this.recentPurges.takeDue(now);
    if (keys.length === 0) return;
    const { jsm, stream, logger } = this.options;
    try {
      const deleted = await purgeLeftovers(
        jsm,
        stream,
        commandSubjects(stream),
        keys.map((key) => commandSubject(stream, key)),
      );
      for (const [subject, count] of deleted) {
        logger.warn(
          { key: subject.slice(commandSubject(stream, '').length), deleted: count },
          'purged messages were still in the stream; deleted again',
        );
      }
    } catch (err) {
      logger.warn({ err, transfers: keys.length }, 'could not check the stream for leftovers');
    }
  }

  /** Runs {@link checkLeftovers} every LEFTOVER_CHECK_MS until {@link stop}. */
  startLeftoverChecks(intervalMs = LEFTOVER_CHECK_MS): void {
    if (this.stopped) return;
    this.leftoverTimer ??= setInterval(() => {
      this.track(this.checkLeftovers(), (err) =>
        this.options.logger.warn({ err }, 'leftover check failed'),
      );
    }, intervalMs);
  }

  /** Resolves once the background work started so far has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  /**
   * Ends the leftover checks and the purges after reconnects, and waits for the background
   * work (for shutdown).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.leftoverTimer);
    this.leftoverTimer = undefined;
    await this.settled();
  }

  private track(work: Promise<void>, onError: (err: unknown) => void): void {
    const tracked: Promise<void> = work.catch(onError).finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }
}
