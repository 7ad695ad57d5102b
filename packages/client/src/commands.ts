import { randomBytes } from 'node:crypto';
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import {
  CLIENT_ID_PROPERTY,
  RESPONSE_TOPIC_ROOT,
  ReasonCode,
  formatTopic,
  type Command,
  type Layout,
  type ResultMessage,
} from '@mqft/protocol';
import { UploadError, rejected, stayedBusy } from './errors.js';
import { backoffDelay, type RetryOptions } from './options.js';
import { responseChannel, type ResponseChannel } from './response-channel.js';
import { sleep } from './token-bucket.js';

export interface CommandSenderConfig {
  client: MqttClient;
  layout: Layout;
  clientId: string;
  resultTimeoutMs: number;
  retry: Required<RetryOptions>;
  /** Fires when the upload stops: every wait ends with the signal's reason. */
  signal: AbortSignal;
}

type Outcome = ResultMessage | 'timeout' | 'reconnect';

/**
 * Sends commands and waits for their results (docs/protocol.md "Results"): identity and reply
 * properties on MQTT 5, matching by Correlation Data or topic, a resend when no result came
 * within the timeout, a resend at once after a reconnect (results in flight were lost with
 * the connection), back-off on 0x97, and an UploadError on 0x83 or when attempts run out.
 */
export class CommandSender {
  readonly responseTopic: string;
  readonly mqtt5: boolean;
  /** Commands published, retransmissions included. */
  published = 0;
  /** Payload bytes published, retransmissions included. */
  bytesPublished = 0;
  private readonly channel: ResponseChannel;
  private readonly token = randomBytes(6).toString('hex');
  private sequence = 0;
  private readonly reconnectWaiters = new Set<() => void>();
  private readonly onConnect = () => {
    for (const waiter of [...this.reconnectWaiters]) waiter();
  };

  constructor(private readonly config: CommandSenderConfig) {
    this.responseTopic = `${RESPONSE_TOPIC_ROOT}/${config.clientId}`;
    this.mqtt5 = config.client.options.protocolVersion === 5;
    this.channel = responseChannel(config.client);
    config.client.on('connect', this.onConnect);
  }

  /** Subscribes to the response topic (once per MQTT client). */
  async start(): Promise<void> {
    await this.channel.subscribe(this.responseTopic);
  }

  close(): void {
    this.config.client.off('connect', this.onConnect);
  }

  /** Calls `listener` with the results no command of this client waits for; returns the stop. */
  onUnclaimed(listener: (result: ResultMessage) => void): () => void {
    return this.channel.onUnclaimed(listener);
  }

  topicOf(command: Command): string {
    return formatTopic(command, this.config.layout);
  }

  /**
   * Sends `command` until its result is not 0x97 (nor 0x80 with `resendOnRetransmit`), and
   * returns that result. Throws UploadError `rejected` on 0x83, `gave_up` after
   * `retry.maxAttempts` sends without a usable result, `busy` when 0x97 answers went on for
   * longer than `retry.busyTimeoutMs`; rejects with the signal's reason when the upload stops.
   */
  async send(
    command: Command,
    payload: Buffer,
    resendOnRetransmit: boolean,
    timeoutMs = this.config.resultTimeoutMs,
  ): Promise<ResultMessage> {
    const { retry, signal } = this.config;
    const topic = this.topicOf(command);
    const correlation = `${this.token}:${this.sequence++}`;
    const attempts = { count: 0, timeoutMs };
    const busy = { since: 0, count: 0 };
    for (;;) {
      const result = await this.exchange(topic, correlation, payload, attempts);
      const code = result.reason_code;
      if (code === ReasonCode.Cancel) throw rejected(result);
      if (code === ReasonCode.Busy) {
        // Bounded by time, not by maxAttempts: the cluster asked us to wait.
        attempts.count -= 1;
        if (busy.count === 0) busy.since = Date.now();
        busy.count += 1;
        const delay = backoffDelay(retry, busy.count + 1);
        if (Date.now() + delay - busy.since > retry.busyTimeoutMs) {
          throw stayedBusy(result, busy.count, Date.now() - busy.since);
        }
        await sleep(delay, signal);
        continue;
      }
      if (!(resendOnRetransmit && code === ReasonCode.Retransmit)) return result;
      this.checkAttempts(attempts.count, topic, result);
      await sleep(backoffDelay(retry, attempts.count + 1), signal);
    }
  }

  /** Publishes until one result arrives: again after each timeout and after a reconnect. */
  private async exchange(
    topic: string,
    correlation: string,
    payload: Buffer,
    attempts: { count: number; timeoutMs: number },
  ): Promise<ResultMessage> {
    const pending = this.channel.matcher.expect(topic, correlation);
    try {
      let outcome: Outcome = 'timeout';
      for (;;) {
        if (outcome === 'timeout') {
          this.checkAttempts(attempts.count, topic);
          attempts.count += 1;
        }
        this.publish(topic, payload, correlation);
        outcome = await this.waitFor(pending.result, attempts.timeoutMs);
        if (typeof outcome === 'object') return outcome;
      }
    } finally {
      pending.cancel();
    }
  }

  private checkAttempts(count: number, topic: string, result?: ResultMessage): void {
    if (count < this.config.retry.maxAttempts) return;
    const why = result ? `last result ${result.reason_description}` : 'no result';
    const message = `gave up on ${topic} after ${count} attempts (${why})`;
    throw new UploadError('gave_up', message, result ? { result } : { topic });
  }

  private publish(topic: string, payload: Buffer, correlation: string): void {
    const options: IClientPublishOptions = { qos: 1 };
    if (this.mqtt5) {
      options.properties = {
        responseTopic: this.responseTopic,
        correlationData: Buffer.from(correlation, 'utf8'),
      };
      if (this.config.layout === 'emqx') {
        options.properties.userProperties = { [CLIENT_ID_PROPERTY]: this.config.clientId };
      }
    }
    this.published += 1;
    this.bytesPublished += payload.length;
    // Errors (offline, connection closing) are not final: the timeout or reconnect resends.
    this.config.client.publish(topic, payload, options, () => undefined);
  }

  /**
   * The result, or `timeout` when none came within the timeout while connected, or
   * `reconnect` when the connection came back (the command must go again at once).
   */
  private waitFor(result: Promise<ResultMessage>, timeoutMs: number): Promise<Outcome> {
    const { client, signal } = this.config;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.reconnectWaiters.delete(onReconnect);
        signal.removeEventListener('abort', onAbort);
        settle();
      };
      const onReconnect = () => finish(() => resolve('reconnect'));
      const onAbort = () => finish(() => reject(signal.reason));
      const arm = () => {
        timer = setTimeout(() => {
          if (client.connected) finish(() => resolve('timeout'));
          else arm(); // offline time does not count; the reconnect resends
        }, timeoutMs);
      };
      if (signal.aborted) return onAbort();
      this.reconnectWaiters.add(onReconnect);
      signal.addEventListener('abort', onAbort, { once: true });
      arm();
      void result.then((value) => finish(() => resolve(value)));
    });
  }
}
