import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createLogger, createMetricsRegistry, sleep, type StartedService } from '@mqft/config';
import { connectMqtt, createResultPublisher, endMqtt, mqttConnectionSettings } from '@mqft/mqtt';
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
import { openSubscriber, type Subscriber } from './subscriber.js';

export interface IngestDeps {
  logger?: Logger;
  registry?: Registry;
  /** Session Expiry Interval of the subscriber sessions (default 7 days). */
  sessionExpirySeconds?: number;
  /** How long a JetStream publish is retried before `unavailable` (default 10 s). */
  retryBudgetMs?: number;
}

/** A running ingest: what `runService` serves (/metrics, /readyz) and stops on SIGTERM. */
export interface Ingest extends StartedService {
  readonly subscriber: Subscriber;
  readonly nats: NatsConnection;
  /** NATS connected, at least one MQTT connection up, not stopping. */
  ready(): boolean;
  /**
   * Graceful: stop taking messages, finish what is in flight (bounded by
   * MQFT_SHUTDOWN_GRACE), then disconnect. With MQFT_INGEST_UNSUBSCRIBE_ON_STOP, leave the
   * shared subscription first.
   */
  stop(): Promise<void>;
}

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Session Expiry Interval of the subscriber sessions. */
export const SESSION_EXPIRY_SECONDS = 7 * 24 * 3600;
/** How long a JetStream publish is retried before the device is told `unavailable`. */
export const PUBLISH_RETRY_BUDGET_MS = 10_000;

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
    const onMessage = createMessageHandler({
      decode: { layout: config.layout, prefix: config.mqttTopicPrefix },
      limits: {
        maxFileSize: config.maxFileSize,
        maxSegmentSize: config.maxSegmentSize,
        maxFilemetaBytes: config.maxFilemetaBytes,
        maxFilemetaDepth: config.maxFilemetaDepth,
      },
      maxPayload: () => nats.info?.max_payload ?? DEFAULT_MAX_PAYLOAD,
      publisher: createStreamPublisher(jetstream(nats), {
        stream: config.stream,
        retryBudgetMs: deps.retryBudgetMs ?? PUBLISH_RETRY_BUDGET_MS,
        metrics,
        logger,
      }),
      results: createResultPublisher(resultsClient, registry, logger),
      metrics,
      logger,
      pendingResults,
    });
    const subscriber = await openSubscriber({
      ...mqttConnectionSettings(config),
      clientIdBase: config.mqttClientId,
      connections: config.ingestConnections,
      filters: config.mqttSubscription,
      sessionExpirySeconds: deps.sessionExpirySeconds ?? SESSION_EXPIRY_SECONDS,
      logger,
      onMessage,
      onInFlight: (delta) => (delta > 0 ? metrics.inFlight.inc() : metrics.inFlight.dec()),
    });
    subscriberRef.current = subscriber;
    cleanup.push(() => subscriber.close(1_000));
    const mqttUp = () => subscriber.connectedCount() > 0;
    const { stream, ingestConnections: connections, layout } = config;
    logger.info({ stream, connections, layout }, 'ingest started');

    const parts = { config, logger, subscriber, pendingResults, resultsClient, nats };
    let stopped: Promise<void> | undefined;
    return {
      subscriber,
      nats,
      registry,
      checks: { nats: () => natsState.connected, mqtt: mqttUp },
      ready: () => stopped === undefined && natsState.connected && mqttUp(),
      stop: () => (stopped ??= shutdown(parts)),
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
    });
    return { nats, natsState };
  } catch (err) {
    await nats.close();
    throw err;
  }
}

function connectResults(config: IngestConfig, logger: Logger): Promise<MqttClient> {
  // Results go out on their own connection: a result's PUBACK on a subscriber connection
  // would queue behind the commands the broker already sent there, none of which MQTT.js
  // reads before the current one is acked.
  return connectMqtt({
    ...mqttConnectionSettings(config),
    clientId: `${config.mqttClientId}-ingest-results`,
    clean: true,
    logger,
  });
}

async function shutdown(s: {
  config: IngestConfig;
  logger: Logger;
  subscriber: Subscriber;
  pendingResults: Set<Promise<unknown>>;
  resultsClient: MqttClient;
  nats: NatsConnection;
}): Promise<void> {
  const deadline = Date.now() + s.config.shutdownGrace;
  const remaining = () => Math.max(0, deadline - Date.now());
  s.logger.info({ graceMs: s.config.shutdownGrace }, 'ingest stopping');
  // Kept by default: a restarting replica comes back under the same clientIds and takes over
  // what the broker queued for its sessions. Mosquitto (2.0.11 measured) goes on assigning
  // NEW messages round-robin to a member whose persistent session is offline (with 2 members,
  // one offline, it got every second message), so a replica removed for good would strand
  // its share until the session expires: MQFT_INGEST_UNSUBSCRIBE_ON_STOP=true for scale-down.
  if (s.config.ingestUnsubscribeOnStop) {
    await s.subscriber.unsubscribe(Math.min(2_000, remaining()));
  }
  await s.subscriber.drain(remaining());
  await Promise.race([Promise.allSettled([...s.pendingResults]), sleep(remaining())]);
  // Disconnecting keeps the persistent sessions: what the broker queued for these clientIds,
  // and any message left unacked, goes to the replica that comes back with them.
  await s.subscriber.close(Math.max(1_000, remaining()));
  await endMqtt(s.resultsClient, 1_000);
  await s.nats.drain().catch((err: unknown) => s.logger.warn({ err }, 'nats drain failed'));
  s.logger.info('ingest stopped');
}
