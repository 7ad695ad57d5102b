import { connectAsync, type MqttClient } from 'mqtt';
import { parseTopic, type Layout, type ResultMessage } from '@mqft/protocol';

/** A segment command or result as the broker saw it. */
export interface SpyEvent {
  at: number;
  kind: 'segment' | 'segment-result' | 'other';
  bytes: number;
}

/**
 * A plain subscriber on `$file/#` and `$file-response/#`: what the device really published
 * and what the cluster answered, in the broker's order. Counts segments published but not
 * yet answered, and the payload bytes of segments.
 */
export class BrokerSpy {
  readonly events: SpyEvent[] = [];
  readonly results: ResultMessage[] = [];
  readonly topics: string[] = [];
  unanswered = 0;
  maxUnanswered = 0;
  segmentBytes = 0;
  segments = 0;

  private constructor(
    private readonly client: MqttClient,
    private readonly layout: Layout,
  ) {
    client.on('message', (topic, payload) => this.observe(topic, payload));
  }

  static async start(url: string, layout: Layout = 'emqx'): Promise<BrokerSpy> {
    const client = await connectAsync(url, { protocolVersion: 5, reconnectPeriod: 200 });
    const spy = new BrokerSpy(client, layout);
    await client.subscribeAsync(['$file/#', '$file-response/#'], { qos: 1 });
    return spy;
  }

  private observe(topic: string, payload: Buffer): void {
    const at = performance.now();
    if (topic.startsWith('$file-response/')) {
      const result = JSON.parse(payload.toString('utf8')) as ResultMessage;
      this.results.push(result);
      const isSegment = this.isSegment(result.topic);
      if (isSegment) this.unanswered -= 1;
      this.events.push({ at, kind: isSegment ? 'segment-result' : 'other', bytes: 0 });
      return;
    }
    this.topics.push(topic);
    if (!this.isSegment(topic)) {
      this.events.push({ at, kind: 'other', bytes: 0 });
      return;
    }
    this.segments += 1;
    this.segmentBytes += payload.length;
    this.unanswered += 1;
    this.maxUnanswered = Math.max(this.maxUnanswered, this.unanswered);
    this.events.push({ at, kind: 'segment', bytes: payload.length });
  }

  private isSegment(topic: string): boolean {
    const parsed = parseTopic(topic, { layout: this.layout });
    return parsed.ok && parsed.command.kind === 'segment';
  }

  reset(): void {
    this.events.length = 0;
    this.results.length = 0;
    this.topics.length = 0;
    this.unanswered = 0;
    this.maxUnanswered = 0;
    this.segmentBytes = 0;
    this.segments = 0;
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }
}
