import { randomBytes } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import type { ResultMessage } from '@mqft/protocol';

/**
 * A raw MQTT 5 client that sends anything to any topic, each command with its own Correlation
 * Data and the Response Topic `$file-response/{clientId}` (which also identifies it in the emqx
 * layout), and matches every result to its command. Counts results per command, so a command
 * answered twice is seen.
 */
export class Prober {
  private readonly pending = new Map<string, (r: ResultMessage) => void>();
  /** Results per correlation id, including duplicates and late ones. */
  readonly answers = new Map<string, ResultMessage[]>();
  private next = 0;

  private constructor(
    readonly client: MqttClient,
    readonly clientId: string,
  ) {
    client.on('message', (_topic, payload, packet) => {
      const id = packet.properties?.correlationData?.toString('utf8');
      if (id === undefined) return;
      const result = JSON.parse(payload.toString('utf8')) as ResultMessage;
      this.answers.set(id, [...(this.answers.get(id) ?? []), result]);
      this.pending.get(id)?.(result);
      this.pending.delete(id);
    });
  }

  static async connect(url: string, clientId = `fz-${randomBytes(4).toString('hex')}`) {
    const client = await connectAsync(url, {
      clientId,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,
    });
    await client.subscribeAsync(`$file-response/${clientId}`, { qos: 1 });
    return new Prober(client, clientId);
  }

  get responseTopic(): string {
    return `$file-response/${this.clientId}`;
  }

  /** Publishes (QoS 1) and resolves with the command's result. */
  async send(
    topic: string,
    payload: Buffer | string = Buffer.alloc(0),
    timeoutMs = 30_000,
    /** The clientId claimed in the `clientid` user property (default: this client's). */
    claimedClientId = this.clientId,
  ): Promise<ResultMessage> {
    const id = `${this.clientId}:${this.next++}`;
    const answer = new Promise<ResultMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new Error(`no result for ${JSON.stringify(topic.slice(0, 200))} in ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    answer.catch(() => undefined); // awaited below; not unhandled if publishing throws
    await this.client.publishAsync(topic, payload, {
      qos: 1,
      properties: {
        responseTopic: this.responseTopic,
        correlationData: Buffer.from(id),
        userProperties: { clientid: claimedClientId },
      },
    });
    return answer;
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
