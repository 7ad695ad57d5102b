import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { decodeCommandHeaders, deleteStreamMessage, EnvelopeError } from '@mqft/stream';
import type { AssemblerContext } from './context.js';
import { LEAVES_MESSAGE_UNREFERENCED, RECORDERS } from './record/index.js';
import { BodyGoneError, storedCommandOf } from './stored-command.js';

/** Redelivery delay after a failure to record (Redis down, say): back off, do not spin. */
export const NAK_DELAY_MS = 2000;
/**
 * Messages pulled ahead of recording. Counted in messages, not bytes: with `max_bytes`,
 * nats.js 3.4 let the pull lapse under load (pending in the hundreds, nothing waiting, for
 * 30–45 s; measured by the benchmarks). The consumer delivers headers only, so a message is a
 * few hundred bytes (an init's, with its filemeta, at most ~90 KiB): 64 of them bound memory
 * well, and nats.js asks again once a quarter are taken (a pull request per ~16 messages,
 * not per ~2 as with the 8 that whole payloads allowed).
 */
export const PULL_MAX_MESSAGES = 64;
/**
 * How long one pull request lives. nats.js notices a pull the server forgot (the consumer's
 * leader was killed: its pending pulls die with it) only after two missed idle heartbeats
 * (half of this each), and waits this long again between its checks of the consumer: with the
 * default 30 s, an R3 stream's leader kill -9 stalled recording for 30–45 s
 * (test/cluster/failover.int.test.ts). An idle pull costs one request per period.
 */
export const PULL_EXPIRES_MS = 4000;

/**
 * Pulls commands from the shared durable consumer and records each one; a message is acked
 * only after its effect is recorded in Redis, nak'ed (redelivered later) when recording
 * failed, and terminated when it can never be recorded (not written by ingest).
 */
export class CommandConsumer {
  private messages: ConsumerMessages | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly ctx: AssemblerContext,
    private readonly consumer: Consumer,
    private readonly concurrency: number,
  ) {}

  async start(): Promise<void> {
    this.messages = await this.consumer.consume({
      max_messages: Math.min(this.concurrency, PULL_MAX_MESSAGES),
      expires: PULL_EXPIRES_MS,
    });
    // Observed by stop() only: a failed pull loop is logged when it fails, not at shutdown.
    this.loop = this.run(this.messages).catch((err: unknown) =>
      this.ctx.logger.error({ err }, 'command consumer stopped pulling'),
    );
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      // Pulled but not started when we stop: hand it back now rather than after the ack wait.
      if (this.stopping) {
        msg.nak();
        continue;
      }
      while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
      const work = this.handle(msg).finally(() => this.inFlight.delete(work));
      this.inFlight.add(work);
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const { metrics, logger } = this.ctx;
    let kind = 'unknown';
    try {
      const command = decodeCommandHeaders(msg.headers);
      kind = command.kind;
      const timer = metrics.recordSeconds.startTimer({ kind });
      const stored = storedCommandOf(msg, command, this.ctx.jsm, this.ctx.config.stream);
      const outcome = await RECORDERS[command.kind](this.ctx, command, stored);
      timer();
      const leftBehind = LEAVES_MESSAGE_UNREFERENCED[outcome];
      if (leftBehind !== false) {
        // A late copy (a device's retransmission, a broker's redelivery) of a command of a
        // finished transfer, or a redundant segment copy: nothing purges it any more (or only
        // the purge at completion would), so it would stay until max_age.
        // When the stream cannot delete it now (its leader was just killed), the redelivery
        // tries again: recording it is idempotent.
        try {
          await deleteStreamMessage(this.ctx.jsm, this.ctx.config.stream, msg.seq);
        } catch (err) {
          logger.warn({ err, seq: msg.seq, kind }, 'late command not deleted; redelivery later');
          metrics.commands.inc({ kind, outcome: 'retry' });
          msg.nak(NAK_DELAY_MS);
          return;
        }
        // A late copy of a finished transfer's command came after its purge (a retried publish
        // through a stream leader's failover, say): its subject is checked again for what
        // nats-server kept (test/cluster/failover.int.test.ts, stream leader: 3 such left).
        if (leftBehind === 'transfer_over') this.ctx.purger.checkLater(command.key);
      }
      msg.ack();
      metrics.commands.inc({ kind, outcome });
      if (outcome === 'invalid') {
        logger.warn(
          { key: command.key, kind, seq: msg.seq },
          'stored command without a reply or a valid key ignored',
        );
      } else if (command.kind !== 'seg') {
        logger.debug({ key: command.key, kind, outcome, seq: msg.seq }, 'command recorded');
      }
    } catch (err) {
      if (err instanceof EnvelopeError) {
        logger.error(
          { err, seq: msg.seq, subject: msg.subject },
          'unreadable stream message dropped',
        );
        metrics.commands.inc({ kind, outcome: 'unreadable' });
        msg.term();
        return;
      }
      if (err instanceof BodyGoneError) {
        // Deleted before it was recorded (an abort's purge): there is nothing left to record.
        logger.warn({ err, seq: msg.seq, kind }, 'command gone from the stream before recording');
        metrics.commands.inc({ kind, outcome: 'gone' });
        msg.term();
        return;
      }
      logger.warn(
        { err, seq: msg.seq, subject: msg.subject, kind },
        'command not recorded; redelivery later',
      );
      metrics.commands.inc({ kind, outcome: 'retry' });
      msg.nak(NAK_DELAY_MS);
    }
  }

  /** Stops pulling; the messages already taken are recorded and acked before this resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.messages?.close();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }
}
