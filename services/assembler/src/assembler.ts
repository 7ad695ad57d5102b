import { randomBytes } from 'node:crypto';
import { createMetricsRegistry, type Logger } from '@mqft/config';
import { connectMqtt, createResultPublisher, endMqtt, mqttConnectionSettings } from '@mqft/mqtt';
import { ANONYMOUS_CLIENT_ID, parseTransferKey } from '@mqft/protocol';
import { createStorage } from '@mqft/storage';
import {
  watchNatsConnection,
  assertStreamName,
  connectNats,
  ensureAssemblerConsumer,
  ensureCommandStream,
  ensureOutcomeStream,
  outcomeStreamName,
} from '@mqft/stream';
import {
  assertRedisPrefix,
  ClientQuotas,
  CreatedIndexes,
  createRedis,
  DueIndex,
  RebuildLock,
  redisReady,
  RetentionIndex,
  StateEpoch,
  TransferStore,
} from '@mqft/state';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import type { AssemblerConfig } from './config.js';
import { CommandConsumer } from './consumer.js';
import type { AssemblerContext, ResultSender } from './context.js';
import { createEventPublisher } from './events.js';
import { createAssemblerMetrics } from './metrics.js';
import { createOutcomeStore } from './outcomes.js';
import { RetentionSweeper } from './retention.js';
import { Purger } from './purger.js';
import { AssemblyScheduler } from './scheduler.js';
import { watchConsumerBacklog } from './backlog.js';
import { watchLoad } from './load-gate.js';
import { StateRecovery } from './recovery.js';

/**
 * The one durable pull consumer every assembler replica shares; it delivers headers only.
 * RETIRED_DURABLES: earlier versions' (full payloads), deleted at start once this one exists
 * (ensureAssemblerConsumer; docs/operations.md "Upgrading").
 */
export const ASSEMBLER_DURABLE = 'assembler-headers';
export const RETIRED_DURABLES = ['assembler'] as const;
/**
 * The consumer's ack wait: a message delivered and not acked within it goes to another
 * replica. Recording takes milliseconds; a message held longer belongs to a stalled replica.
 */
export const ACK_WAIT_MS = 10_000;

export interface RunningAssembler {
  readonly registry: Registry;
  readonly checks: Record<string, () => boolean>;
  /** Stops taking work, finishes or hands back what is in flight, closes connections. */
  stop(): Promise<void>;
}

/** Wires the assembler: connections, stream and consumer, recording, assembly, sweeping. */
export async function startAssembler(
  config: AssemblerConfig,
  logger: Logger,
  registry = createMetricsRegistry('assembler'),
): Promise<RunningAssembler> {
  assertStreamName(config.stream);
  assertRedisPrefix(config.redisPrefix);
  const owner = `${config.mqttClientId}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const metrics = createAssemblerMetrics(registry);
  const storage = createStorage(config.storage, { partSize: config.storagePartSize });
  const redis = createRedis(config.redisUrl, { name: `mqft-assembler-${owner}` });
  const nc = await connectNats(config.natsUrl, `mqft-assembler-${owner}`);
  const mqtt = await connectMqtt({
    ...mqttConnectionSettings(config),
    clientId: `${owner}-results`,
    clean: true,
    logger,
  });

  const jsm = await jetstreamManager(nc);
  const purger = new Purger({
    jsm,
    stream: config.stream,
    logger,
    replicated: config.streamReplicas > 1,
  });
  // nats-server may bring back what was purged just before it restarted (see RecentPurges).
  const nats = watchNatsConnection(nc, logger, (connected) => {
    if (connected) purger.repurgeRecent();
  });
  await ensureCommandStream(jsm, {
    name: config.stream,
    replicas: config.streamReplicas,
    maxAgeMs: config.segmentsTtl,
    maxBytes: config.streamMaxBytes,
  });
  await ensureOutcomeStream(jsm, {
    name: outcomeStreamName(config.stream, config.outcomesStream),
    stream: config.stream,
    replicas: config.streamReplicas,
    maxAgeMs: config.outcomesMaxAge,
    maxBytes: config.outcomesMaxBytes,
  });
  await ensureAssemblerConsumer(jsm, config.stream, {
    durable: ASSEMBLER_DURABLE,
    retired: RETIRED_DURABLES,
    ackWaitMs: ACK_WAIT_MS,
    maxAckPending: Math.max(1000, config.recordConcurrency * 16),
  });

  const publisher = createResultPublisher(mqtt, registry, logger);
  const sendResult: ResultSender = async (key, reply, result) => {
    const id = parseTransferKey(key);
    if (!id) return;
    await publisher.publish(
      { reply, clientId: id.clientId, anonymous: id.clientId === ANONYMOUS_CLIENT_ID },
      result,
      logger.child({ key, clientId: id.clientId, fileId: id.fileId }),
    );
  };

  const store = new TransferStore(redis, config.redisPrefix);
  const loadGate = watchLoad({
    jsm,
    durable: ASSEMBLER_DURABLE,
    redis,
    redisPrefix: config.redisPrefix,
    settings: config,
    metrics,
    logger,
  });
  const js = jetstream(nc);
  const ctx: AssemblerContext = {
    config,
    store,
    due: new DueIndex(redis, config.redisPrefix),
    quotas: new ClientQuotas(redis, config.redisPrefix),
    indexes: new CreatedIndexes(redis, config.redisPrefix, {
      maxListed: config.maxListedTransfers,
      maxListedPerClient: config.maxListedPerClient,
    }),
    epoch: new StateEpoch(redis, config.redisPrefix),
    rebuildLock: new RebuildLock(redis, config.redisPrefix),
    jsm,
    storage,
    sendResult,
    events: createEventPublisher(nc, config.stream, logger),
    outcomes: createOutcomeStore(js, config.stream, metrics, logger),
    retention: new RetentionIndex(redis, config.redisPrefix),
    metrics,
    logger,
    purger,
    owner,
    // Called only once messages flow, after the scheduler below exists.
    requestAssembly: (key) => scheduler.request(key),
    progressive:
      config.progressiveConcurrency > 0 && config.progressiveMinBytes > 0
        ? {
            offer: (key) => scheduler.progressive.offer(key),
            wake: (key) => scheduler.progressive.wake(key),
          }
        : undefined,
    assemblyAtFin: { reserve: (key, size) => scheduler.reserve(key, size) },
    loadGate,
  };
  purger.startLeftoverChecks();
  const scheduler = new AssemblyScheduler(ctx);
  scheduler.start();
  // Retention off: nothing is deleted, not even what was scheduled while it was on.
  const retention = config.retentionEnabled ? new RetentionSweeper(ctx) : undefined;
  retention?.start();
  const recovery = new StateRecovery(ctx, js);
  recovery.start();
  // After a Redis restart its data may be gone: check at once, not at the next interval.
  redis.on('ready', () => recovery.checkSoon());
  const consumer = new CommandConsumer(
    ctx,
    await js.consumers.get(config.stream, ASSEMBLER_DURABLE),
    config.recordConcurrency,
  );
  await consumer.start();
  const stopBacklog = watchConsumerBacklog(jsm, config.stream, ASSEMBLER_DURABLE, metrics, logger);
  logger.info(
    { owner, stream: config.stream, storage: storage.kind, retention: config.retentionEnabled },
    'assembler started',
  );

  return {
    registry,
    checks: {
      nats: () => nats.connected,
      redis: () => redisReady(redis),
      mqtt: () => mqtt.connected,
    },
    async stop() {
      stopBacklog();
      loadGate.stop();
      await consumer.stop();
      await recovery.stop();
      await scheduler.stop(config.shutdownGrace);
      await retention?.stop();
      await purger.stop();
      await endMqtt(mqtt);
      await nc.drain();
      redis.disconnect();
      await storage.close();
      logger.info('assembler stopped');
    },
  };
}
