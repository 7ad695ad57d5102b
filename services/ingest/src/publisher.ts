import { randomUUID } from 'node:crypto';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { InvalidArgumentError } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { sleep } from '@mqft/config';
import { commandSubject, encodeCommandHeaders, isStreamFullError } from '@mqft/stream';
import type { StreamMessage } from './handlers/index.js';
import type { IngestMetrics } from './metrics.js';

/** JetStream did not take a message within the retry budget (or can never take it). */
export class StreamUnavailableError extends Error {
  override name = 'StreamUnavailableError';
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * JetStream refused the message for lack of room (the stream is at its byte limit). Not
 * retried: only finished assemblies make room, so the device is told `busy` at once and
 * nothing it was told is durable is touched (the stream discards new messages, never old).
 */
export class StreamFullError extends Error {
  override name = 'StreamFullError';
}

export interface StreamPublisherOptions {
  stream: string;
  /** How long one message is retried before the device is told `unavailable` (~10 s). */
  retryBudgetMs: number;
  metrics: Pick<IngestMetrics, 'publishSeconds' | 'publishRetries'>;
  logger: Logger;
}

export interface StreamPublisher {
  /** Resolves with JetStream's ack; rejects with StreamUnavailableError or StreamFullError. */
  publish(message: StreamMessage): Promise<PubAck>;
  /** All at once (a split segment's parts); resolves when EVERY one is acked. */
  publishAll(messages: readonly StreamMessage[]): Promise<PubAck[]>;
}

const MIN_ATTEMPT_MS = 250;
const MAX_ATTEMPT_MS = 5_000;

export function createStreamPublisher(
  js: JetStreamClient,
  options: StreamPublisherOptions,
): StreamPublisher {
  const publish = async (message: StreamMessage): Promise<PubAck> => {
    const { kind } = message.command;
    const subject = commandSubject(options.stream, message.command.key);
    const started = performance.now();
    const deadline = Date.now() + options.retryBudgetMs;
    // One id for every attempt of THIS publish: a retry after a lost ack is a duplicate, but a
    // device's resend is a new message (after a reset its bytes must be stored again; a later
    // copy at an offset replaces an earlier one), so the id names the delivery, not the content.
    const msgId = randomUUID();
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - Date.now();
      try {
        const ack = await js.publish(subject, message.body, {
          headers: encodeCommandHeaders(message.command, msgId),
          timeout: Math.min(MAX_ATTEMPT_MS, Math.max(MIN_ATTEMPT_MS, remaining)),
          // A subject captured by some other stream would not be where the assembler reads.
          expect: { streamName: options.stream },
        });
        options.metrics.publishSeconds.observe({ kind }, (performance.now() - started) / 1000);
        return ack;
      } catch (err) {
        if (isStreamFullError(err)) {
          throw new StreamFullError(`JetStream refused the message: ${String(err)}`, {
            cause: err,
          });
        }
        if (err instanceof InvalidArgumentError) {
          throw new StreamUnavailableError(`JetStream refused the message: ${String(err)}`, true, {
            cause: err,
          });
        }
        const delay = backoffMs(attempt);
        if (Date.now() + delay >= deadline) {
          const why = `JetStream did not ack within ${options.retryBudgetMs} ms (${attempt + 1} attempts)`;
          throw new StreamUnavailableError(why, false, { cause: err });
        }
        options.metrics.publishRetries.inc({ kind });
        options.logger.warn(
          { err, key: message.command.key, kind, msgId, attempt: attempt + 1, retryInMs: delay },
          'JetStream publish failed; retrying',
        );
        await sleep(delay);
      }
    }
  };
  return {
    publish,
    publishAll: (messages) => Promise.all(messages.map(publish)),
  };
}

/** 100 ms doubling to 2 s, with jitter so N ingest replicas do not retry in lockstep. */
export function backoffMs(attempt: number): number {
  const base = Math.min(2_000, 100 * 2 ** attempt);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}
