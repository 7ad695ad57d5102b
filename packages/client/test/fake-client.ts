import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { parseTopic, type Command, type Layout, type ResultMessage } from '@mqft/protocol';

export interface Published {
  topic: string;
  command: Command;
  payload: Buffer;
}

/** What the fake cluster answers: a result, or `drop` (lost on the way). */
export type Answer = Partial<ResultMessage> | 'drop';

/**
 * Just enough of an MqttClient for the SDK, with a scripted cluster behind it: every
 * publish is recorded and answered (success unless `answer` says otherwise), asynchronously,
 * on the Response Topic with the Correlation Data echoed (MQTT 5) or on
 * `$file-response/{clientId}` without it (MQTT 3.1.1).
 */
export class FakeClient extends EventEmitter {
  readonly published: Published[] = [];
  connected = true;
  readonly options: { clientId: string; protocolVersion: 4 | 5 };
  answer: (p: Published) => Answer | undefined = () => undefined;

  constructor(
    protocolVersion: 4 | 5 = 5,
    private readonly layout: Layout = 'emqx',
    clientId = 'fake-dev',
  ) {
    super();
    this.options = { clientId, protocolVersion };
  }

  get asMqtt(): MqttClient {
    return this as unknown as MqttClient;
  }

  subscribeAsync(topic: string) {
    return Promise.resolve([{ topic, qos: 1 }]);
  }

  publish(
    topic: string,
    payload: Buffer,
    opts: { properties?: { responseTopic?: string; correlationData?: Buffer } },
    callback: () => void,
  ): void {
    const parsed = parseTopic(topic, { layout: this.layout });
    if (!parsed.ok) throw new Error(`bad topic ${topic}`);
    const record = { topic, command: parsed.command, payload: Buffer.from(payload) };
    this.published.push(record);
    callback();
    const answer = this.answer(record) ?? {};
    if (answer === 'drop') return;
    const result: ResultMessage = {
      vsn: '0.1',
      topic,
      reason_code: 0,
      reason_description: 'success',
      ...(parsed.command.kind === 'fin' ? { location: `mem://${parsed.command.fileId}` } : {}),
      ...answer,
    };
    const responseTopic =
      opts.properties?.responseTopic ?? `$file-response/${this.options.clientId}`;
    const packet = { properties: { correlationData: opts.properties?.correlationData } };
    setImmediate(() =>
      this.emit('message', responseTopic, Buffer.from(JSON.stringify(result)), packet),
    );
  }

  /**
   * A result the cluster sends of its own accord, after the command's own answer (a segment
   * past the transfer's cap, one of an aborted transfer), on `$file-response/{clientId}`.
   */
  tellLater(result: Pick<ResultMessage, 'topic' | 'reason_code' | 'reason_description'>): void {
    const message = Buffer.from(JSON.stringify({ vsn: '0.1', ...result }));
    setTimeout(
      () => this.emit('message', `$file-response/${this.options.clientId}`, message, {}),
      5,
    );
  }

  /** Published commands of one kind. */
  sent(kind: Command['kind']): Published[] {
    return this.published.filter((p) => p.command.kind === kind);
  }

  segmentBytes(): number {
    return this.sent('segment').reduce((sum, p) => sum + p.payload.length, 0);
  }
}
