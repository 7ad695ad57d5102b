import type { MqttClient } from 'mqtt';
import type { ResultMessage } from '@mqft/protocol';
import { ResultMatcher, parseResult } from './result-matcher.js';

/**
 * The results side of one MQTT client, shared by every upload on it: one `message` listener,
 * one QoS 1 subscription per response topic (MQTT.js renews it after a reconnect), and one
 * matcher, so concurrent uploads on the same connection never steal each other's results.
 */
export class ResponseChannel {
  readonly matcher = new ResultMatcher();
  private readonly subscriptions = new Map<string, Promise<void>>();
  private readonly unclaimed = new Set<(result: ResultMessage) => void>();

  constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      if (!this.subscriptions.has(topic)) return;
      const result = parseResult(payload);
      if (result === undefined) return;
      const data = packet.properties?.correlationData;
      const correlation = data === undefined ? undefined : Buffer.from(data).toString('utf8');
      if (this.matcher.deliver(result, correlation)) return;
      for (const listener of this.unclaimed) listener(result);
    });
  }

  /**
   * Listens to results no command waits for: answers the cluster sends of its own accord (a
   * segment past the transfer's cap, after ingest's `success`), besides duplicates. Returns the
   * function that stops listening.
   */
  onUnclaimed(listener: (result: ResultMessage) => void): () => void {
    this.unclaimed.add(listener);
    return () => this.unclaimed.delete(listener);
  }

  /** Subscribes to `topic` once; a failed subscription is tried again by the next caller. */
  subscribe(topic: string): Promise<void> {
    let subscribed = this.subscriptions.get(topic);
    if (subscribed === undefined) {
      subscribed = this.client.subscribeAsync(topic, { qos: 1 }).then((grants) => {
        const refused = grants.find((grant) => grant.qos === 128);
        if (refused) throw new Error(`the broker refused the subscription to ${topic}`);
      });
      subscribed.catch(() => this.subscriptions.delete(topic));
      this.subscriptions.set(topic, subscribed);
    }
    return subscribed;
  }
}

const channels = new WeakMap<MqttClient, ResponseChannel>();

export function responseChannel(client: MqttClient): ResponseChannel {
  let channel = channels.get(client);
  if (channel === undefined) {
    channel = new ResponseChannel(client);
    channels.set(client, channel);
  }
  return channel;
}
