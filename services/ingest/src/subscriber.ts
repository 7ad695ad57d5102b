import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { connectMqtt, endMqtt, type MqttTlsFiles } from '@mqft/mqtt';
import type { MessageHandler } from './handle-message.js';
import type { CommandProperties } from './message.js';

export interface SubscriberOptions {
  url: string;
  /** Base of the stable clientIds: connection i is `${clientIdBase}-ingest-${i}`. */
  clientIdBase: string;
  username?: string;
  password?: string;
  /** PEM files for mqtts:// (see connectMqtt). */
  tls?: MqttTlsFiles;
  connections: number;
  filters: readonly string[];
  /** Session Expiry Interval of the persistent sessions. */
  sessionExpirySeconds: number;
  logger: Logger;
  onMessage: MessageHandler;
  /** Called whenever the number of messages being handled changes. */
  onInFlight?: (delta: 1 | -1) => void;
}

export interface Subscriber {
  readonly clients: readonly MqttClient[];
  connectedCount(): number;
  /**
   * Stops taking messages: one that arrives from now on is left unacked, so the broker keeps
   * it in this clientId's session. Resolves when the messages being handled are acked, or
   * after `timeoutMs`.
   */
  drain(timeoutMs: number): Promise<void>;
  /** Leaves the shared subscription (for a scale-down; see ingest.ts). */
  unsubscribe(timeoutMs: number): Promise<void>;
  /** Disconnects, keeping the persistent sessions. */
  close(timeoutMs: number): Promise<void>;
}

export const ingestClientId = (base: string, index: number): string => `${base}-ingest-${index}`;

/**
 * `connections` MQTT connections, each a member of the shared subscription with its own
 * stable clientId and persistent session. Acks are manual: a message is acked only when
 * `onMessage` resolves, i.e. after JetStream took it. MQTT.js hands a connection its next
 * message only after the previous ack, so each connection handles one message at a time
 * and throughput comes from the number of connections.
 */
export async function openSubscriber(options: SubscriberOptions): Promise<Subscriber> {
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const handle = (
    client: MqttClient | undefined,
    topic: string,
    message: Buffer,
    packet: { properties?: CommandProperties; qos?: 0 | 1 | 2 },
    done: (code: number) => void,
  ) => {
    // A QoS 0 command is never redelivered: handled even while draining (the results
    // connection is still up), else it would be lost without an answer.
    if (draining && packet.qos !== 0) return;
    const stream = client?.stream;
    inFlight += 1;
    options.onInFlight?.(1);
    void options
      .onMessage(topic, message, packet.properties, packet.qos ?? 1)
      .catch((err: unknown) => options.logger.error({ err }, 'message handler rejected'))
      .finally(() => {
        inFlight -= 1;
        options.onInFlight?.(-1);
        // Received on a connection that has since been replaced: the broker redelivers the
        // message on the new one (persistent session), and a PUBACK with this old packet id
        // could ack whatever now carries it there.
        if (client === undefined || client.stream === stream) done(0);
        if (inFlight === 0) idle?.();
      });
  };

  const connect = async (index: number): Promise<MqttClient> => {
    const clientId = ingestClientId(options.clientIdBase, index);
    let client: MqttClient | undefined;
    const connected = await connectMqtt({
      url: options.url,
      clientId,
      ...(options.username ? { username: options.username } : {}),
      ...(options.password ? { password: options.password } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      clean: false,
      sessionExpirySeconds: options.sessionExpirySeconds,
      logger: options.logger,
      onCreated: (created) => {
        client = created;
        // QoS 1 messages go through customHandleAcks (and reach 'message' only once acked);
        // QoS 0 ones have no ack and only reach 'message': handled the same, nothing to ack.
        created.on('message', (topic, message, packet) => {
          if (packet.qos === 0) handle(undefined, topic, message, packet, () => undefined);
        });
      },
      customHandleAcks: (topic, message, packet, done) =>
        handle(client, topic, message, packet, done),
    });
    // Also on a resumed session: cheap, and it repairs a session the broker lost.
    await connected.subscribeAsync([...options.filters], { qos: 1 });
    options.logger.info({ mqttClientId: clientId, filters: options.filters }, 'subscribed');
    return connected;
  };
  const settled = await Promise.allSettled(
    Array.from({ length: options.connections }, (_, i) => connect(i)),
  );
  const clients = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(clients.map((c) => endMqtt(c, 1_000)));
    throw failed.reason;
  }

  return {
    clients,
    connectedCount: () => clients.filter((c) => c.connected).length,
    drain: async (timeoutMs) => {
      draining = true;
      if (inFlight === 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
    unsubscribe: async (timeoutMs) => {
      const unsubscribe = (c: MqttClient) =>
        c.unsubscribeAsync([...options.filters]).then(() => undefined);
      await Promise.all(
        clients.map((c) =>
          withTimeout(unsubscribe(c), timeoutMs).catch((err: unknown) => {
            options.logger.warn({ err, mqttClientId: c.options.clientId }, 'unsubscribe failed');
          }),
        ),
      );
    },
    close: async (timeoutMs) => {
      // Everything handled is acked; what is not stays in the persistent session. MQTT.js would
      // otherwise wait for messages it ignored while draining: give it a second, not the grace.
      await Promise.all(clients.map((c) => endMqtt(c, Math.min(timeoutMs, 1_000))));
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
