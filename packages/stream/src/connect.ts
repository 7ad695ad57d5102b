import { connect, type NatsConnection } from '@nats-io/transport-node';

/** Connects to every server of a comma-separated MQFT_NATS_URL, reconnecting forever. */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: url.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
    // Every request (each JetStream publish, direct get, API call) would otherwise build two
    // Errors with stack traces up front: 6 % of ingest's CPU in a profile (docs/performance.md).
    noAsyncTraces: true,
  });
}
