import { randomBytes } from 'node:crypto';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import type { ResultMessage } from '@mqft/protocol';

/** How one hostile command is published: anything MQTT 5 lets a device put on the wire. */
export interface RawPublish {
  qos?: 0 | 1;
  /** The Response Topic (default `$file-response/{clientId}`; `null`: none). */
  responseTopic?: string | null;
  /** Correlation Data (default: a fresh id, so the result can be matched). */
  correlationId?: string;
  /**
   * The `clientid` user property: a string, several (each sent as its own property, in this
   * order), or `null` for none. Default: this client's clientId.
   */
  clientid?: string | string[] | null;
}

/** A result as received: the MQTT topic it came on, its Correlation Data and its body. */
export interface ReceivedResult {
  mqttTopic: string;
  correlationId: string | undefined;
  result: ResultMessage;
}

/**
 * A raw MQTT 5 device (the `mqtt` package, not the SDK): publishes whatever a buggy or hostile
 * firmware might, and collects every message mqft publishes to `$file-response/{clientId}`
 * (plus whatever else it subscribes to), so a test can wait for a result or prove there is none.
 */
export class RawDevice {
  /** Every message received, in arrival order. */
  readonly received: ReceivedResult[] = [];
  private readonly listeners = new Set<() => void>();
  private next = 0;

  private constructor(
    readonly client: MqttClient,
    readonly clientId: string,
  ) {
    client.on('message', (mqttTopic, payload, packet) => {
      let result: ResultMessage;
      try {
        result = JSON.parse(payload.toString('utf8')) as ResultMessage;
      } catch {
        result = { raw: payload.toString('utf8') } as unknown as ResultMessage;
      }
      this.received.push({
        mqttTopic,
        correlationId: packet.properties?.correlationData?.toString('utf8'),
        result,
      });
      for (const wake of this.listeners) wake();
    });
  }

  static async connect(
    url: string,
    options: { clientId?: string } & Partial<IClientOptions> = {},
  ): Promise<RawDevice> {
    const clientId = options.clientId ?? `hostile-${randomBytes(4).toString('hex')}`;
    const client = await connectAsync(url, {
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,
      ...options,
      clientId,
    });
    await client.subscribeAsync(`$file-response/${clientId}`, { qos: 1 });
    return new RawDevice(client, clientId);
  }

  get responseTopic(): string {
    return `$file-response/${this.clientId}`;
  }

  /** Publishes one command; returns its correlation id (undefined when none was sent). */
  async publish(
    topic: string,
    payload: Buffer | string = Buffer.alloc(0),
    options: RawPublish = {},
  ): Promise<string | undefined> {
    const correlationId = options.correlationId ?? `${this.clientId}:${this.next++}`;
    const clientid = options.clientid === undefined ? this.clientId : options.clientid;
    const responseTopic =
      options.responseTopic === undefined ? this.responseTopic : options.responseTopic;
    await this.client.publishAsync(topic, payload, {
      qos: options.qos ?? 1,
      properties: {
        ...(responseTopic === null ? {} : { responseTopic }),
        correlationData: Buffer.from(correlationId),
        ...(clientid === null ? {} : { userProperties: { clientid } }),
      },
    });
    return correlationId;
  }

  /** Waits for the first received message that satisfies `match`. */
  waitFor(match: (r: ReceivedResult) => boolean, timeoutMs = 10_000): Promise<ReceivedResult> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.find(match);
        if (!found) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.clientId}: no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(wake);
      };
      const wake = () => void check();
      if (check()) return;
      this.listeners.add(wake);
    });
  }

  /** Publishes a command and resolves with its result (matched by Correlation Data). */
  async send(
    topic: string,
    payload: Buffer | string = Buffer.alloc(0),
    options: RawPublish & { timeoutMs?: number } = {},
  ): Promise<ResultMessage> {
    const id = options.correlationId ?? `${this.clientId}:${this.next++}`;
    const answer = this.waitFor((r) => r.correlationId === id, options.timeoutMs ?? 10_000);
    answer.catch(() => undefined);
    await this.publish(topic, payload, { ...options, correlationId: id });
    return (await answer).result;
  }

  /** The results received for a command topic. */
  resultsFor(topic: string): ResultMessage[] {
    return this.received.filter((r) => r.result.topic === topic).map((r) => r.result);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
