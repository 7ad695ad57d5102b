import type { JetStreamClient } from '@nats-io/jetstream';
import { DeliverPolicy } from '@nats-io/jetstream';
import { commandSubjects, decodeCommandHeaders, EnvelopeError } from '@mqft/stream';
import { PULL_EXPIRES_MS } from './consumer.js';
import type { AssemblerContext } from './context.js';
import { RECORDERS } from './record/index.js';
import { BodyGoneError, storedCommandOf } from './stored-command.js';
import { settleIfStored } from './stored-file.js';

const LOCK_TTL_MS = 30_000;
const CHECK_INTERVAL_MS = 5_000;
/**
 * A replay that got no message for this long has nothing left to read: the messages it was
 * waiting for were deleted (purged) after it looked at the stream's last sequence.
 */
const REPLAY_IDLE_MS = 10_000;
/** Rebuilt transfers looked up in storage at once (see settleRebuilt). */
const SETTLE_CONCURRENCY = 8;

/** Redis lost its data again while the stream was being replayed into it. */
export class RebuildInterruptedError extends Error {
  override name = 'RebuildInterruptedError';
}

/**
 * Redis may lose everything (small deployments keep nothing on disk). The stream still holds
 * every command of every unfinished transfer, so one assembler replays it into Redis —
 * recording is idempotent, and the newest stream sequence wins per offset — before the state
 * is marked whole again. Devices are not answered twice: replayed commands send no results
 * (a replayed fin keeps its reply for when the transfer completes).
 *
 * The replay races with purges: a transfer that completed just before Redis was lost (its
 * record gone with it) still has messages in the stream while its purge runs, so the replay
 * may rebuild part of it — its init and some segments, but not the fin the purge deleted
 * first. Nothing would ever settle such a record, so every transfer the replay touched and
 * left 'receiving' is looked up in storage afterwards, and marked complete when storage holds
 * its verified file (test/chaos, redis-loss).
 */
export class StateRecovery {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly ctx: AssemblerContext,
    private readonly js: JetStreamClient,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.checkSoon(), CHECK_INTERVAL_MS);
    this.timer.unref();
    this.checkSoon();
  }

  /** Resolves once this process is not replaying (any replay it started has ended). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  checkSoon(): void {
    this.running ??= this.check()
      .catch((err: unknown) => this.ctx.logger.warn({ err }, 'state check failed; retrying'))
      .finally(() => {
        this.running = undefined;
      });
  }

  private async check(): Promise<void> {
    const { epoch, rebuildLock, owner, logger } = this.ctx;
    if (await epoch.isWhole()) return;
    if (!(await rebuildLock.take(owner, LOCK_TTL_MS))) return;
    const touched = new Set<string>();
    let failure: unknown;
    try {
      const started = Date.now();
      const replayed = await this.replay(touched);
      // ioredis reconnects and goes on: when Redis lost everything again meanwhile, what was
      // replayed before is gone, and the state is not whole. The lock was lost with it.
      if (!(await rebuildLock.renew(owner, LOCK_TTL_MS))) {
        throw new RebuildInterruptedError('Redis lost the rebuild lock while replaying');
      }
      await epoch.markWhole();
      logger.info(
        { replayed, transfers: touched.size, ms: Date.now() - started },
        'transfer state rebuilt from the stream',
      );
    } catch (err) {
      failure = err;
    } finally {
      await rebuildLock.release(owner);
    }
    // Also after an interrupted replay: what it wrote into the new, empty Redis stays there.
    if (failure === undefined || failure instanceof RebuildInterruptedError) {
      await this.settleRebuilt(touched);
    }
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows the caught value as it came
    if (failure !== undefined) throw failure;
  }

  /** Marks complete the rebuilt transfers whose verified file storage already holds. */
  private async settleRebuilt(keys: Set<string>): Promise<void> {
    const { logger, metrics } = this.ctx;
    const queue = [...keys];
    let settled = 0;
    const worker = async (): Promise<void> => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        try {
          if (await settleIfStored(this.ctx, key)) settled++;
        } catch (err) {
          metrics.storageErrors.inc({ operation: 'verify' });
          logger.warn({ err, key }, 'rebuilt transfer not checked against storage');
        }
      }
    };
    await Promise.all(Array.from({ length: SETTLE_CONCURRENCY }, worker));
    if (settled > 0) logger.info({ settled }, 'rebuilt transfers found complete in storage');
  }

  private async replay(touched: Set<string>): Promise<number> {
    const { config, rebuildLock, owner } = this.ctx;
    const info = await this.ctx.jsm.streams.info(config.stream);
    if (info.state.messages === 0) return 0;
    const last = info.state.last_seq;
    // Replayed commands answer nobody and refuse nothing (an init replayed now was admitted
    // long ago, whatever the load); a replayed fin only records (the assembly is requested).
    const quiet: AssemblerContext = {
      ...this.ctx,
      sendResult: () => Promise.resolve(),
      loadGate: undefined,
      assemblyAtFin: undefined,
    };
    const consumer = await this.js.consumers.get(config.stream, {
      filter_subjects: commandSubjects(config.stream),
      deliver_policy: DeliverPolicy.All,
      // As the command consumer: recording reads no segment's bytes.
      headers_only: true,
    });
    const messages = await consumer.consume({ max_messages: 32, expires: PULL_EXPIRES_MS });
    let count = 0;
    let renewedAt = Date.now();
    // The last message (or all) may be purged before the replay gets there: then nothing ever
    // reaches `last`, and without new messages the loop would wait for ever.
    // Only the wait for the next message counts, not recording one (Redis may be slow).
    let idle: NodeJS.Timeout | undefined;
    const armIdle = (): void => {
      idle = setTimeout(() => void messages.close().catch(() => undefined), REPLAY_IDLE_MS);
    };
    armIdle();
    try {
      for await (const msg of messages) {
        clearTimeout(idle);
        try {
          const command = decodeCommandHeaders(msg.headers);
          touched.add(command.key);
          const stored = storedCommandOf(msg, command, this.ctx.jsm, config.stream);
          await RECORDERS[command.kind](quiet, command, stored);
          count++;
        } catch (err) {
          if (!(err instanceof EnvelopeError || err instanceof BodyGoneError)) throw err;
        }
        if (Date.now() - renewedAt > LOCK_TTL_MS / 3) {
          if (!(await rebuildLock.renew(owner, LOCK_TTL_MS)))
            throw new RebuildInterruptedError('rebuild lock lost');
          renewedAt = Date.now();
        }
        if (msg.seq >= last || msg.info.pending === 0) break;
        armIdle();
      }
    } finally {
      clearTimeout(idle);
      await messages.close();
    }
    return count;
  }
}
