import { connectAsync, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { waitFor } from '@mqft/test-support';

export interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** An MQTT 5 client that records every message it receives. */
export interface RecordingClient {
  client: MqttClient;
  received: Received[];
  /** Resolves with the first recorded message on `topic`, waiting up to `timeoutMs`. */
  next(topic: string, timeoutMs?: number): Promise<Received>;
  close(): Promise<void>;
}

export async function connectRecording(
  url: string,
  clientId: string,
  options: IClientOptions = {},
): Promise<RecordingClient> {
  const client = await connectAsync(url, {
    protocolVersion: 5,
    clientId,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...options,
  });
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload, packet }));
  return {
    client,
    received,
    async next(topic, timeoutMs = 5_000) {
      await waitFor(() => received.some((m) => m.topic === topic), {
        timeoutMs,
        intervalMs: 10,
        what: `${clientId} to receive ${topic}`,
      });
      return received.find((m) => m.topic === topic) as Received;
    },
    async close() {
      await client.endAsync();
    },
  };
}
