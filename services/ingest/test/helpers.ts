import { jetstreamManager, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import mqtt, { type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { decodeCommandHeaders, connectNats, type StreamCommand } from '@mqft/stream';
import { uniqueName, waitFor } from '@mqft/test-support';
import { loadIngestConfig, type IngestConfig } from '../src/config.js';

/** The config of an in-process ingest for a test broker (with the loopback bridge) and stream. */
export function testConfig(
  brokerUrl: string,
  natsUrl: string,
  env: Record<string, string> = {},
): IngestConfig {
  return loadIngestConfig({
    MQFT_MQTT_URL: brokerUrl,
    MQFT_MQTT_SUBSCRIPTION: '$share/ft/mqft/in/$file/#,$share/ft/mqft/in/$file-async/#',
    MQFT_MQTT_TOPIC_PREFIX: 'mqft/in/',
    MQFT_MQTT_CLIENT_ID: uniqueName('ingest'),
    MQFT_INGEST_CONNECTIONS: '2',
    MQFT_NATS_URL: natsUrl,
    MQFT_STREAM: uniqueName('MQFT_INGEST_T'),
    MQFT_MAX_SEGMENT_SIZE: '4MiB',
    MQFT_MAX_FILE_SIZE: '64MiB',
    MQFT_HTTP_ADDR: '127.0.0.1:0',
    MQFT_SHUTDOWN_GRACE: '5s',
    MQFT_LOG_LEVEL: 'silent',
    MQFT_TRUST_CLIENTID_PROPERTY: 'true',
    ...env,
  });
}

export interface Result {
  topic: string;
  json: { topic: string; reason_code: number; reason_description: string };
  correlation: Buffer | undefined;
}

/** A device: an MQTT client that records every result it receives. */
export class Device {
  readonly results: Result[] = [];
  private constructor(
    readonly client: MqttClient,
    readonly clientId: string,
  ) {
    client.on('message', (topic, payload, packet: IPublishPacket) => {
      const json = JSON.parse(payload.toString()) as Result['json'];
      this.results.push({ topic, json, correlation: packet.properties?.correlationData });
    });
  }

  static async connect(url: string, clientId: string, protocolVersion: 4 | 5 = 5): Promise<Device> {
    const client = await mqtt.connectAsync(url, {
      clientId,
      protocolVersion,
      reconnectPeriod: 200,
    });
    const device = new Device(client, clientId);
    await client.subscribeAsync([`$file-response/${clientId}`, `${clientId}/answers`], { qos: 1 });
    return device;
  }

  /** Publishes a command; MQTT 5 devices name themselves by the user property `clientid`. */
  async send(
    topic: string,
    payload: Uint8Array | string = '',
    properties: IClientPublishOptions['properties'] = {},
  ) {
    const options: IClientPublishOptions = { qos: 1 };
    if (this.client.options.protocolVersion === 5) {
      options.properties = { userProperties: { clientid: this.clientId }, ...properties };
    }
    await this.client.publishAsync(topic, Buffer.from(payload), options);
  }

  /** The first result for `deviceTopic` (waiting for it). */
  async result(deviceTopic: string, timeoutMs = 15_000): Promise<Result> {
    let found: Result | undefined;
    await waitFor(
      () => {
        found = this.results.find((r) => r.json.topic === deviceTopic);
        return found !== undefined;
      },
      { timeoutMs, what: `a result for ${deviceTopic}` },
    );
    return found as Result;
  }

  resultsFor(deviceTopic: string): Result[] {
    return this.results.filter((r) => r.json.topic === deviceTopic);
  }

  close(): Promise<void> {
    return this.client.endAsync();
  }
}

export interface Stored {
  seq: number;
  subject: string;
  command: StreamCommand;
  body: Buffer;
  msgId: string | undefined;
}

/** Reads a test stream back. */
export class StreamReader {
  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    readonly stream: string,
  ) {}

  static async open(natsUrl: string, stream: string): Promise<StreamReader> {
    const nc = await connectNats(natsUrl, 'ingest-test-reader');
    return new StreamReader(nc, await jetstreamManager(nc), stream);
  }

  async all(): Promise<Stored[]> {
    const info = await this.jsm.streams.info(this.stream);
    const stored: Stored[] = [];
    for (
      let seq = info.state.first_seq;
      seq <= info.state.last_seq && info.state.messages > 0;
      seq++
    ) {
      const msg: StoredMsg | null = await this.jsm.streams.getMessage(this.stream, { seq });
      if (!msg) continue;
      stored.push({
        seq,
        subject: msg.subject,
        command: decodeCommandHeaders(msg.header),
        body: Buffer.from(msg.data),
        msgId: msg.header.has('Nats-Msg-Id') ? msg.header.get('Nats-Msg-Id') : undefined,
      });
    }
    return stored;
  }

  async ofKey(key: string): Promise<Stored[]> {
    return (await this.all()).filter((m) => m.command.key === key);
  }

  async close(deleteStream = true): Promise<void> {
    if (deleteStream) await this.jsm.streams.delete(this.stream).catch(() => undefined);
    await this.nc.close();
  }
}
