import { connect, type NatsConnection } from '@nats-io/transport-node';

/** Connects to every server of a comma-separated MQFT_NATS_URL, reconnecting forever. */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: url.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
  });
}
