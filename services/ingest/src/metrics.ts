import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Ingest's own metrics. Labels are bounded: never a clientId, fileId or topic. */
export interface IngestMetrics {
  /** kind: init|segment|fin|abort|unknown; reason: a reason description, or `forwarded`. */
  commands: Counter<'kind' | 'reason'>;
  /** Commands that arrived at QoS 0 (handled like QoS 1, without the ack). */
  qos0Commands: Counter<'kind'>;
  bytesReceived: Counter;
  publishSeconds: Histogram<'kind'>;
  publishRetries: Counter<'kind'>;
  inFlight: Gauge;
  connectionsConnected: Gauge;
}

export function createIngestMetrics(
  registry: Registry,
  connectedCount: () => number,
): IngestMetrics {
  const registers = [registry];
  return {
    commands: new Counter({
      name: 'mqft_ingest_commands_total',
      help: 'Device commands handled, by kind and result (a reason description, or forwarded to the assembler)',
      labelNames: ['kind', 'reason'] as const,
      registers,
    }),
    qos0Commands: new Counter({
      name: 'mqft_ingest_qos0_commands_total',
      help: 'Device commands that arrived at QoS 0 (handled and answered like QoS 1; the broker gives them no redelivery), by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    bytesReceived: new Counter({
      name: 'mqft_ingest_bytes_received_total',
      help: 'Payload bytes of device commands received',
      registers,
    }),
    publishSeconds: new Histogram({
      name: 'mqft_ingest_jetstream_publish_seconds',
      help: 'Time from a JetStream publish to its acknowledgement, retries included, by stream message kind',
      labelNames: ['kind'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    publishRetries: new Counter({
      name: 'mqft_ingest_jetstream_publish_retries_total',
      help: 'JetStream publishes retried after a failed attempt',
      labelNames: ['kind'] as const,
      registers,
    }),
    inFlight: new Gauge({
      name: 'mqft_ingest_in_flight_messages',
      help: 'MQTT messages being handled (received, not yet acked)',
      registers,
    }),
    connectionsConnected: new Gauge({
      name: 'mqft_ingest_mqtt_connections_connected',
      help: 'MQTT connections of this process that are connected',
      registers,
      collect() {
        this.set(connectedCount());
      },
    }),
  };
}
