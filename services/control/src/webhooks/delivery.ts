import type { Logger } from '@mqft/config';
import { deadLetterSubject, outcomeSubjects } from '@mqft/stream';
import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { retryDelay } from './backoff.js';
import type { WebhookAttemptResult, WebhookMetrics } from './metrics.js';
import { signWebhook, WEBHOOK_HEADERS } from './signature.js';

/** The one durable consumer every control replica's webhook delivery shares. */
export const WEBHOOK_DURABLE = 'mqft-webhook';
/** How long one pull request lives (as the assembler's consumer: a lost pull is noticed soon). */
const PULL_EXPIRES_MS = 4000;
/** Outcomes awaiting delivery or a retry at once, across replicas. */
const MAX_ACK_PENDING = 10_000;

export interface WebhookSettings {
  url: string;
  secret: string;
  maxAttempts: number;
  timeoutMs: number;
  backoffMs: number;
  backoffMaxMs: number;
  concurrency: number;
}

export interface WebhookDeliveryDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The command stream's name (the outcome subjects derive from it). */
  stream: string;
  /** The outcome stream. */
  outcomeStream: string;
  settings: WebhookSettings;
  metrics: WebhookMetrics;
  logger: Logger;
}

/**
 * POSTs every transfer outcome to MQFT_WEBHOOK_URL (docs/events.md "Webhook"). The control
 * replicas share one durable JetStream consumer, so each outcome is with one replica at a
 * time: acked after a 2xx, else redelivered after an exponential delay with jitter (a nak
 * with a delay; JetStream counts the deliveries), and after MQFT_WEBHOOK_MAX_ATTEMPTS published
 * to the dead letters (`ft.<stream>.webhook.dead.<key>`) and terminated. At least once: a
 * replica that dies between the 2xx and the ack leaves the outcome to be delivered again,
 * with the same X-Mqft-Event-Id.
 */
export class WebhookDelivery {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly deps: WebhookDeliveryDeps) {}

  async start(): Promise<void> {
    const { jsm, js, outcomeStream, stream, settings } = this.deps;
    const config = {
      durable_name: WEBHOOK_DURABLE,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: outcomeSubjects(stream),
      // Longer than a request and the wait of the ones pulled behind it: an outcome goes to
      // another replica only when its replica is gone.
      ack_wait: (2 * settings.timeoutMs + 30_000) * 1_000_000,
      max_ack_pending: MAX_ACK_PENDING,
      max_deliver: -1,
    };
    try {
      await jsm.consumers.add(outcomeStream, config);
    } catch (err) {
      if (!/already in use|already exists/i.test((err as Error).message)) throw err;
      const { deliver_policy: _policy, ...updatable } = config;
      await jsm.consumers.update(outcomeStream, WEBHOOK_DURABLE, updatable);
    }
    const consumer = await js.consumers.get(outcomeStream, WEBHOOK_DURABLE);
    this.messages = await consumer.consume({
      max_messages: settings.concurrency,
      expires: PULL_EXPIRES_MS,
    });
    this.loop = this.run(this.messages);
    this.deps.logger.info(
      { url: redactUrl(settings.url), outcomeStream, maxAttempts: settings.maxAttempts },
      'webhook delivery started',
    );
  }

  /** Stops pulling; requests in flight finish (at most MQFT_WEBHOOK_TIMEOUT). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.messages?.close();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (this.stopping) {
        msg.nak();
        continue;
      }
      while (this.inFlight.size >= this.deps.settings.concurrency) {
        await Promise.race(this.inFlight);
      }
      const work = this.deliver(msg)
        .catch((err: unknown) => {
          this.deps.logger.warn({ err, seq: msg.seq }, 'webhook delivery failed; retried');
          msg.nak(this.deps.settings.backoffMs);
        })
        .finally(() => this.inFlight.delete(work));
      this.inFlight.add(work);
    }
  }

  private async deliver(msg: JsMsg): Promise<void> {
    const { settings, metrics, logger } = this.deps;
    const attempt = msg.info.deliveryCount;
    const id = msg.headers?.get('Nats-Msg-Id') || `seq-${msg.seq}`;
    // Its dead letter failed after the last attempt (NATS away): not posted again.
    if (attempt > settings.maxAttempts) return this.deadLetter(msg, id, attempt, 'gave_up');
    const { result, status } = await this.post(msg.data, id, attempt);
    metrics.attempts.inc({ outcome: result });
    const log = { id, attempt, result, status, key: keyOf(msg.subject) };
    if (result === 'success') {
      await msg.ackAck().catch(() => msg.ack());
      metrics.deliveries.inc({ outcome: 'delivered' });
      logger.debug(log, 'outcome delivered to the webhook');
      return;
    }
    if (attempt < settings.maxAttempts) {
      const delay = retryDelay(attempt, settings.backoffMs, settings.backoffMaxMs);
      msg.nak(delay);
      logger.debug({ ...log, retryInMs: delay }, 'webhook attempt failed; retried');
      return;
    }
    await this.deadLetter(msg, id, attempt, status === undefined ? result : `${result} ${status}`);
  }

  /**
   * Publishes the outcome to the dead letters (deduplicated by id) and terminates it; when the
   * publish fails, the caller's nak brings it back here.
   */
  private async deadLetter(msg: JsMsg, id: string, attempts: number, last: string): Promise<void> {
    const key = keyOf(msg.subject);
    const dead = natsHeaders();
    dead.set(WEBHOOK_HEADERS.eventId, id);
    dead.set('Mqft-Attempts', String(Math.min(attempts, this.deps.settings.maxAttempts)));
    dead.set('Mqft-Last-Result', last);
    await this.deps.js.publish(deadLetterSubject(this.deps.stream, key), msg.data, {
      msgID: `dead.${id}`,
      headers: dead,
    });
    msg.term('dead-lettered');
    this.deps.metrics.deliveries.inc({ outcome: 'dead_lettered' });
    this.deps.logger.error(
      { id, attempts, last, key },
      'webhook gave up on an outcome: dead-lettered',
    );
  }

  private async post(
    body: Uint8Array,
    id: string,
    attempt: number,
  ): Promise<{ result: WebhookAttemptResult; status?: number }> {
    const { settings } = this.deps;
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const response = await fetch(settings.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'mqft-webhook',
          [WEBHOOK_HEADERS.eventId]: id,
          [WEBHOOK_HEADERS.timestamp]: timestamp,
          [WEBHOOK_HEADERS.signature]: signWebhook(settings.secret, timestamp, body),
          [WEBHOOK_HEADERS.attempt]: String(attempt),
        },
        body,
        signal: AbortSignal.timeout(settings.timeoutMs),
        redirect: 'manual',
      });
      // The answer's body is not used; reading it frees the connection.
      await response.arrayBuffer().catch(() => undefined);
      const ok = response.status >= 200 && response.status < 300;
      return { result: ok ? 'success' : 'http_error', status: response.status };
    } catch (err) {
      const name = (err as Error).name;
      return {
        result: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network_error',
      };
    }
  }
}

/** The transfer key of an outcome subject (`ft.<stream>.outcomes.<key>`). */
function keyOf(subject: string): string {
  return subject.split('.').slice(3).join('.');
}

/** The URL without credentials or query (logs). */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
