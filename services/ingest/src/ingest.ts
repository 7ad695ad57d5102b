import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createLogger, createMetricsRegistry, startOpsServer, type OpsServer } from '@mqft/config';
import { connectMqtt, createResultPublisher, endMqtt, type MqttTlsFiles } from '@mqft/mqtt';
import {
  assertStreamName,
  connectNats,
  ensureCommandStream,
  watchNatsConnection,
} from '@mqft/stream';
import type { IngestConfig } from './config.js';
import { createMessageHandler } from './handle-message.js';
import { createIngestMetrics } from './metrics.js';
import { createStreamPublisher } from './publisher.js';
import { largestStorableFile, watchStreamRoom } from './stream-room.js';
import { openSubscriber, type Subscriber } from './subscriber.js';

export interface IngestDeps {
  logger?: Logger;
  registry?: Registry;
  /** Serve /metrics, /healthz, /readyz on `config.httpAddr` (default true). */
  opsServer?: boolean;
  /**
   * Leave the shared subscription when stopping (default false: keep it). Mosquitto 2.0.11
   * goes on assigning NEW messages round-robin to a member whose persistent session is
   * offline (measured: with 2 members, one offline, it got every second message, handed over
   * only when that clientId reconnected). A restarting replica wants exactly that; a replica
   * removed for good would strand its share until the session expires, so a scale-down
   * should unsubscribe.
   */
  unsubscribeOnStop?: boolean;
  /** Session Expiry Interval of the subscriber sessions (default 7 days). */
  sessionExpirySeconds?: number;
  /** How long a JetStream publish is retried before `unavailable` (default 10 s). */
  retryBudgetMs?: number;
}

export interface Ingest {
  readonly subscriber: Subscriber;
  readonly nats: NatsConnection;
  /** The ops server's port, when it runs. */
  readonly opsPort: number | undefined;
  /** NATS connected, at least one MQTT connection up, not stopping. */
  ready(): boolean;
  /** Graceful: finish what is in flight (bounded by MQFT_SHUTDOWN_GRACE), then disconnect. */
  stop(): Promise<void>;
}

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
const SEVEN_DAYS_S = 7 * 24 * 3600;

/** Starts one ingest process: NATS and the stream first, then the MQTT subscribers. */
export async function startIngest(config: IngestConfig, deps: IngestDeps = {}): Promise<Ingest> {
  const logger = deps.logger ?? createLogger('ingest', config.logLevel);
  const registry = deps.registry ?? createMetricsRegistry('ingest');
  assertStreamName(config.stream);
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    const { nats, natsState } = await openStream(config, logger);
    cleanup.push(() => nats.close());
    const resultsClient = await connectResults(config, logger);
    cleanup.push(() => endMqtt(resultsClient, 1_000));
    // The metrics exist before the subscriber, whose connections they count.
    const subscriberRef: { current?: Subscriber } = {};
    const metrics = createIngestMetrics(
      registry,
      () => subscriberRef.current?.connectedCount() ?? 0,
    );
    const pendingResults = new Set<Promise<unknown>>();
    const maxFileSize = largestStorableFile(
      config.maxFileSize,
      config.streamMaxBytes,
      config.streamFullPercent,
    );
    if (maxFileSize < config.maxFileSize) {
      logger.info(
        { configured: config.maxFileSize, streamMaxBytes: config.streamMaxBytes, maxFileSize },
        'MQFT_MAX_FILE_SIZE does not fit in the stream: larger files are refused (file_too_large)',
      );
    }
    const room = watchStreamRoom(await jetstreamManager(nats), {
      stream: config.stream,
      fullPercent: config.streamFullPercent,
      metrics,
      logger,
    });
    cleanup.push(async () => room.stop());
    const onMessage = createMessageHandler({
      decode: { layout: config.layout, prefix: config.mqttTopicPrefix },
      limits: { maxFileSize, maxSegmentSize: config.maxSegmentSize },
      maxPayload: () => nats.info?.max_payload ?? DEFAULT_MAX_PAYLOAD,
      publisher: createStreamPublisher(jetstream(nats), {
        stream: config.stream,
        retryBudgetMs: deps.retryBudgetMs ?? 10_000,
        metrics,
        logger,
      }),
      room,
      results: createResultPublisher(resultsClient, registry, logger),
      metrics,
      logger,
      pendingResults,
    });
    const subscriber = await openSubscriber({
      ...subscriberSettings(config, deps),
      logger,
      onMessage,
      onInFlight: (delta) => (delta > 0 ? metrics.inFlight.inc() : metrics.inFlight.dec()),
    });
    subscriberRef.current = subscriber;
    cleanup.push(() => subscriber.close(1_000));
    const mqttUp = () => subscriber.connectedCount() > 0;
    const ops =
      deps.opsServer === false
        ? undefined
        : await startOpsServer({
            host: config.httpAddr.host,
            port: config.httpAddr.port,
            registry,
            checks: { nats: () => natsState.connected, mqtt: mqttUp },
            logger,
          });
    const { stream, ingestConnections: connections, layout } = config;
    logger.info({ stream, connections, layout }, 'ingest started');

    const parts = { config, deps, logger, subscriber, pendingResults, resultsClient, nats, ops };
    let stopped: Promise<void> | undefined;
    return {
      subscriber,
      nats,
      opsPort: ops?.port,
      ready: () => stopped === undefined && natsState.connected && mqttUp(),
      stop: () => {
        ops?.drain();
        room.stop();
        stopped ??= shutdown(parts);
        return stopped;
      },
    };
  } catch (err) {
    for (const close of cleanup.reverse()) await close().catch(() => undefined);
    throw err;
  }
}

/** Connects to NATS and makes sure the command stream exists with this deployment's settings. */
async function openStream(config: IngestConfig, logger: Logger) {
  const nats = await connectNats(config.natsUrl, `mqft-ingest ${config.mqttClientId}`);
  try {
    const natsState = watchNatsConnection(nats, logger);
    await ensureCommandStream(await jetstreamManager(nats), {
      name: config.stream,
      replicas: config.streamReplicas,
      maxAgeMs: config.segmentsTtl,
      maxBytes: config.streamMaxBytes,
    });
    return { nats, natsState };
  } catch (err) {
    await nats.close();
    throw err;
  }
}

function subscriberSettings(config: IngestConfig, deps: IngestDeps) {
  return {
    url: config.mqttUrl,
    clientIdBase: config.mqttClientId,
    ...(config.mqttUsername && { username: config.mqttUsername }),
    ...(config.mqttPassword && { password: config.mqttPassword }),
    tls: mqttTlsFiles(config),
    connections: config.ingestConnections,
    filters: config.mqttSubscription,
    sessionExpirySeconds: deps.sessionExpirySeconds ?? SEVEN_DAYS_S,
  };
}

/** MQFT_MQTT_CA / _CERT / _KEY (paths; empty: none). */
function mqttTlsFiles(config: IngestConfig): MqttTlsFiles {
  return {
    ...(config.mqttCa && { ca: config.mqttCa }),
    ...(config.mqttCert && { cert: config.mqttCert }),
    ...(config.mqttKey && { key: config.mqttKey }),
  };
}

function connectResults(config: IngestConfig, logger: Logger): Promise<MqttClient> {
  // Results go out on their own connection: a result's PUBACK on a subscriber connection
  // would queue behind the commands the broker already sent there, none of which MQTT.js
  // reads before the current one is acked.
  return connectMqtt({
    url: config.mqttUrl,
    clientId: `${config.mqttClientId}-ingest-results`,
    ...(config.mqttUsername && { username: config.mqttUsername }),
    ...(config.mqttPassword && { password: config.mqttPassword }),
    tls: mqttTlsFiles(config),
    clean: true,
    logger,
  });
}

async function shutdown(s: {
  config: IngestConfig;
  deps: IngestDeps;
  logger: Logger;
  subscriber: Subscriber;
  pendingResults: Set<Promise<unknown>>;
  resultsClient: MqttClient;
  nats: NatsConnection;
  ops: OpsServer | undefined;
}): Promise<void> {
  const deadline = Date.now() + s.config.shutdownGrace;
  const remaining = () => Math.max(0, deadline - Date.now());
  s.logger.info({ graceMs: s.config.shutdownGrace }, 'ingest stopping');
  if (s.deps.unsubscribeOnStop) await s.subscriber.unsubscribe(Math.min(2_000, remaining()));
  await s.subscriber.drain(remaining());
  await Promise.race([Promise.allSettled([...s.pendingResults]), sleep(remaining())]);
  // Disconnecting keeps the persistent sessions: what the broker queued for these clientIds,
  // and any message left unacked, goes to the replica that comes back with them.
  await s.subscriber.close(Math.max(1_000, remaining()));
  await endMqtt(s.resultsClient, 1_000);
  await s.nats.drain().catch((err: unknown) => s.logger.warn({ err }, 'nats drain failed'));
  await s.ops?.close();
  s.logger.info('ingest stopped');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
