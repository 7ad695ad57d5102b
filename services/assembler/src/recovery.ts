import type { JetStreamClient } from '@nats-io/jetstream';
import { DeliverPolicy } from '@nats-io/jetstream';
import { commandSubjects, decodeCommandHeaders, EnvelopeError } from '@mqft/stream';
import type { AssemblerContext } from './context.js';
import { RECORDERS } from './record/index.js';

const LOCK_TTL_MS = 30_000;
const CHECK_INTERVAL_MS = 5_000;

/**
 * Redis may lose everything (small deployments keep nothing on disk). The stream still holds
 * every command of every unfinished transfer, so one assembler replays it into Redis —
 * recording is idempotent, and the newest stream sequence wins per offset — before the state
 * is marked whole again. Devices are not answered twice: replayed commands send no results
 * (a replayed fin keeps its reply for when the transfer completes).
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
    const { store, owner, logger } = this.ctx;
    if (await store.stateIsWhole()) return;
    if (!(await store.takeRebuildLock(owner, LOCK_TTL_MS))) return;
    try {
      const started = Date.now();
      const replayed = await this.replay();
      await store.markStateWhole();
      logger.info({ replayed, ms: Date.now() - started }, 'transfer state rebuilt from the stream');
    } finally {
      await store.releaseRebuildLock(owner);
    }
  }

  private async replay(): Promise<number> {
    const { config, store, owner } = this.ctx;
    const info = await this.ctx.jsm.streams.info(config.stream);
    if (info.state.messages === 0) return 0;
    const last = info.state.last_seq;
    const quiet: AssemblerContext = { ...this.ctx, sendResult: async () => undefined };
    const consumer = await this.js.consumers.get(config.stream, {
      filter_subjects: commandSubjects(config.stream),
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume({ max_messages: 32 });
    let count = 0;
    let renewedAt = Date.now();
    try {
      for await (const msg of messages) {
        try {
          const command = decodeCommandHeaders(msg.headers);
          await RECORDERS[command.kind](quiet, command, { seq: msg.seq, data: msg.data });
          count++;
        } catch (err) {
          if (!(err instanceof EnvelopeError)) throw err;
        }
        if (Date.now() - renewedAt > LOCK_TTL_MS / 3) {
          if (!(await store.renewRebuildLock(owner, LOCK_TTL_MS)))
            throw new Error('rebuild lock lost');
          renewedAt = Date.now();
        }
        if (msg.seq >= last) break;
      }
    } finally {
      await messages.close();
    }
    return count;
  }
}
