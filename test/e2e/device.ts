import { createHash, randomBytes } from 'node:crypto';
import { connectAsync, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { ResultMessage } from '@mqft/protocol';

export type Identity = 'user-property' | 'response-topic' | 'scoped';

/**
 * A device that speaks the protocol by hand, so tests can send anything in any order
 * (duplicates, gaps, overlaps, garbage). The SDK in packages/client is what real devices use.
 */
export class TestDevice {
  private readonly waiting = new Map<string, ((r: ResultMessage) => void)[]>();
  private readonly unclaimed = new Map<string, ResultMessage[]>();
  readonly all: ResultMessage[] = [];

  private constructor(
    readonly client: MqttClient,
    readonly clientId: string,
    readonly identity: Identity,
  ) {
    client.on('message', (_topic, payload) => {
      const result = JSON.parse(payload.toString('utf8')) as ResultMessage;
      this.all.push(result);
      const waiter = this.waiting.get(result.topic)?.shift();
      if (waiter) waiter(result);
      else this.unclaimed.set(result.topic, [...(this.unclaimed.get(result.topic) ?? []), result]);
    });
  }

  static async connect(
    url: string,
    options: { clientId?: string; identity?: Identity; protocolVersion?: 4 | 5 } = {},
  ): Promise<TestDevice> {
    const clientId = options.clientId ?? `dev-${randomBytes(4).toString('hex')}`;
    const client = await connectAsync(url, {
      clientId,
      protocolVersion: options.protocolVersion ?? 5,
      clean: true,
      reconnectPeriod: 0,
    });
    await client.subscribeAsync(`$file-response/${clientId}`, { qos: 1 });
    return new TestDevice(client, clientId, options.identity ?? 'user-property');
  }

  /** The device's topic for `command` (e.g. `init`, `0`, `fin/10`) of `fileId`. */
  topic(fileId: string, command: string, root = '$file'): string {
    return this.identity === 'scoped'
      ? `${root}/${this.clientId}/${fileId}/${command}`
      : `${root}/${fileId}/${command}`;
  }

  async publish(topic: string, payload: Buffer | string = Buffer.alloc(0)): Promise<void> {
    const options: IClientPublishOptions = { qos: 1 };
    if (this.client.options.protocolVersion === 5) {
      if (this.identity === 'user-property')
        options.properties = { userProperties: { clientid: this.clientId } };
      if (this.identity === 'response-topic')
        options.properties = { responseTopic: `$file-response/${this.clientId}` };
    }
    await this.client.publishAsync(topic, payload, options);
  }

  /** The next result for `topic`, in the order they arrive. */
  result(topic: string, timeoutMs = 60_000): Promise<ResultMessage> {
    const queued = this.unclaimed.get(topic);
    if (queued && queued.length > 0) return Promise.resolve(queued.shift() as ResultMessage);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no result for ${topic} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const waiters = this.waiting.get(topic) ?? [];
      waiters.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.waiting.set(topic, waiters);
    });
  }

  async send(topic: string, payload?: Buffer | string, timeoutMs?: number): Promise<ResultMessage> {
    const answer = this.result(topic, timeoutMs);
    await this.publish(topic, payload);
    return answer;
  }

  init(fileId: string, meta: Record<string, unknown>): Promise<ResultMessage> {
    return this.send(this.topic(fileId, 'init'), JSON.stringify(meta));
  }

  segment(
    fileId: string,
    offset: number,
    bytes: Buffer,
    withChecksum = false,
  ): Promise<ResultMessage> {
    const suffix = withChecksum ? `${offset}/${sha256(bytes)}` : String(offset);
    return this.send(this.topic(fileId, suffix), bytes);
  }

  fin(fileId: string, size: number, checksum?: string, timeoutMs?: number): Promise<ResultMessage> {
    return this.send(
      this.topic(fileId, checksum ? `fin/${size}/${checksum}` : `fin/${size}`),
      undefined,
      timeoutMs,
    );
  }

  /**
   * A whole upload: init, segments with a window of `window` unanswered ones, fin with the
   * file checksum. Resolves with fin's result.
   */
  async upload(
    fileId: string,
    data: Buffer,
    options: { name?: string; segmentSize?: number; window?: number } = {},
  ): Promise<ResultMessage> {
    const segmentSize = options.segmentSize ?? 64 * 1024;
    const init = await this.init(fileId, {
      name: options.name ?? `${fileId}.bin`,
      size: data.length,
    });
    if (init.reason_code !== 0) throw new Error(`init failed: ${JSON.stringify(init)}`);
    const offsets: number[] = [];
    for (let offset = 0; offset < data.length; offset += segmentSize) offsets.push(offset);
    let next = 0;
    const worker = async () => {
      while (next < offsets.length) {
        const offset = offsets[next++] as number;
        const result = await this.segment(
          fileId,
          offset,
          data.subarray(offset, offset + segmentSize),
        );
        if (result.reason_code !== 0)
          throw new Error(`segment ${offset} failed: ${JSON.stringify(result)}`);
      }
    };
    await Promise.all(Array.from({ length: options.window ?? 16 }, worker));
    return this.fin(fileId, data.length, sha256(data));
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
