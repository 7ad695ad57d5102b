import { readFileSync } from 'node:fs';
import { ServerCredentials, status, type Server } from '@grpc/grpc-js';
import { TRANSFER_SERVICE_NAME } from '@mqft/api';
import { createMetricsRegistry, type Logger } from '@mqft/config';
import {
  assertRedisPrefix,
  createRedis,
  redisReady,
  TransferQueries,
  type RedisClient,
} from '@mqft/state';
import { createStorage } from '@mqft/storage';
import {
  assertStreamName,
  connectNats,
  ensureOutcomeStream,
  outcomeStreamName,
  watchNatsConnection,
} from '@mqft/stream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import { insecureListenProblem, TokenAuthenticator } from './auth.js';
import type { ControlConfig } from './config.js';
import type { ControlContext } from './context.js';
import { RpcError } from './errors.js';
import { createHttpApi } from './http/server.js';
import { createControlMetrics } from './metrics.js';
import { bind, createGrpcServer } from './server.js';
import { WebhookDelivery } from './webhooks/delivery.js';

/** How long a "the state is whole" answer is trusted before Redis is asked again. */
const STATE_CHECK_CACHE_MS = 1000;
/** How long start-up waits for Redis before serving anyway (unready, UNAVAILABLE). */
const REDIS_START_WAIT_MS = 5000;
/** How often an idle Server-Sent Events stream gets a comment line. */
const HEARTBEAT_MS = 15_000;

export interface RunningControl {
  /** The gRPC port (the configured one, or the one picked for port 0). */
  readonly port: number;
  /** The HTTP API's port (MQFT_HTTP_API_ADDR; the picked one for port 0). */
  readonly httpPort: number;
  readonly registry: Registry;
  /** For /readyz: Redis and NATS connected, the server accepting calls. */
  readonly checks: Record<string, () => boolean>;
  /** Readiness false, health NOT_SERVING, open watches ended (UNAVAILABLE: go elsewhere). */
  drain(): void;
  /** Drains, lets calls finish for up to `graceMs` (MQFT_SHUTDOWN_GRACE), then closes all. */
  stop(graceMs?: number): Promise<void>;
}

/** Connects Redis, NATS and storage and serves the gRPC API; in-process for tests. */
export async function startControl(
  config: ControlConfig,
  logger: Logger,
  registry = createMetricsRegistry('control'),
  options: { eventHeartbeatMs?: number } = {},
): Promise<RunningControl> {
  assertStreamName(config.stream);
  assertRedisPrefix(config.redisPrefix);
  const problem = insecureListenProblem(
    config.grpcAddr.host,
    config.apiTokens,
    config.grpcAllowInsecureRemote,
  );
  if (problem !== undefined) throw new Error(problem);
  const httpProblem = insecureListenProblem(
    config.httpApiAddr.host,
    config.apiTokens,
    config.grpcAllowInsecureRemote,
    'HTTP',
  );
  if (httpProblem !== undefined) throw new Error(httpProblem);
  const credentials = serverCredentials(config);
  const ctx = await createContext(config, logger);
  const watches = new Set<AbortController>();
  const endWatches = (why: string) => {
    for (const watch of watches) watch.abort(new RpcError(status.UNAVAILABLE, why));
  };
  const auth = new TokenAuthenticator(config.apiTokens);
  const metrics = createControlMetrics(registry);
  const { server, health } = createGrpcServer({ ctx, auth, metrics, watches });
  const state = trackDependencies(ctx, logger, endWatches, (serving) => {
    for (const service of ['', TRANSFER_SERVICE_NAME]) health.set(service, serving);
  });

  // Event streams over HTTP end as gRPC watches do (shutdown, NATS lost): one set.
  const httpApi = createHttpApi({
    ctx,
    auth,
    metrics,
    consoleDir: config.consoleDir,
    heartbeatMs: options.eventHeartbeatMs ?? HEARTBEAT_MS,
    streams: watches,
  });
  let port: number;
  let webhook: WebhookDelivery | undefined;
  let httpPort: number;
  try {
    webhook = await startWebhook(config, ctx, metrics, logger);
    port = await bind(server, listenAddress(config.grpcAddr), credentials);
    httpPort = await httpApi.listen(config.httpApiAddr.host, config.httpApiAddr.port);
  } catch (err) {
    await webhook?.stop();
    server.forceShutdown();
    await closeContext(ctx);
    throw err;
  }
  state.update();
  const { host } = config.grpcAddr;
  const tls = config.grpcTlsCert !== '';
  logger.info({ host, port, tls, auth: auth.enabled, stream: config.stream }, 'gRPC API listening');
  logger.info(
    { host: config.httpApiAddr.host, port: httpPort, auth: auth.enabled },
    'HTTP API listening',
  );

  const drain = () => {
    state.draining = true;
    state.update();
    endWatches('the server is shutting down; reconnect to another replica');
  };
  const stop = async (graceMs: number) => {
    drain();
    health.close();
    await Promise.all([shutdownServer(server, graceMs, logger), httpApi.stop(graceMs)]);
    await webhook?.stop();
    await closeContext(ctx);
    logger.info('gRPC and HTTP APIs stopped');
  };
  let stopped: Promise<void> | undefined;
  return {
    port,
    httpPort,
    registry,
    checks: { redis: () => redisReady(ctx.redis), nats: state.natsUp, grpc: () => !state.draining },
    drain,
    stop: (graceMs = config.shutdownGrace) => (stopped ??= stop(graceMs)),
  };
}

/** The webhook delivery, when MQFT_WEBHOOK_URL is set (docs/events.md). */
async function startWebhook(
  config: ControlConfig,
  ctx: ControlContext,
  metrics: ReturnType<typeof createControlMetrics>,
  logger: Logger,
): Promise<WebhookDelivery | undefined> {
  if (config.webhookUrl === '') return undefined;
  const jsm = await jetstreamManager(ctx.nc);
  const outcomeStream = outcomeStreamName(config.stream, config.outcomesStream);
  await ensureOutcomeStream(jsm, {
    name: outcomeStream,
    stream: config.stream,
    replicas: config.streamReplicas,
    maxAgeMs: config.outcomesMaxAge,
    maxBytes: config.outcomesMaxBytes,
  });
  const webhook = new WebhookDelivery({
    js: ctx.js,
    jsm,
    stream: config.stream,
    outcomeStream,
    settings: {
      url: config.webhookUrl,
      secret: config.webhookSecret,
      maxAttempts: config.webhookMaxAttempts,
      timeoutMs: config.webhookTimeout,
      backoffMs: config.webhookBackoff,
      backoffMaxMs: config.webhookBackoffMax,
      concurrency: config.webhookConcurrency,
    },
    metrics: metrics.webhook,
    logger: logger.child({ component: 'webhook' }),
  });
  await webhook.start();
  return webhook;
}

async function createContext(config: ControlConfig, logger: Logger): Promise<ControlContext> {
  const storage = createStorage(config.storage);
  const nc = await connectNats(config.natsUrl, 'mqft-control');
  const redis = createRedis(config.redisUrl, { name: 'mqft-control' });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'Redis connection error'));
  const queries = new TransferQueries(redis, config.redisPrefix);
  if (!(await readyWithin(redis, REDIS_START_WAIT_MS))) {
    logger.warn(
      { waitedMs: REDIS_START_WAIT_MS },
      'Redis not connected yet; serving UNAVAILABLE until it is',
    );
  }
  let wholeUntil = 0;
  // A Redis that comes back may be a new, empty one: ask again whether the state is whole.
  redis.on('close', () => (wholeUntil = 0));
  return {
    settings: {
      stream: config.stream,
      layout: config.layout,
      downloadUrlTtlMs: config.downloadUrlTtl,
      abortWaitMs: config.abortWait,
    },
    redis,
    queries,
    nc,
    js: jetstream(nc),
    storage,
    logger,
    now: Date.now,
    stateIsWhole: async () => {
      if (Date.now() < wholeUntil) return true;
      const whole = await queries.stateIsWhole();
      if (whole) wholeUntil = Date.now() + STATE_CHECK_CACHE_MS;
      return whole;
    },
  };
}

/** Best effort: a service whose Redis is down still starts, unready, and answers UNAVAILABLE. */
function readyWithin(redis: RedisClient, ms: number): Promise<boolean> {
  if (redisReady(redis)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    redis.on('ready', onReady);
  });
}

async function closeContext(ctx: ControlContext): Promise<void> {
  await Promise.allSettled([ctx.nc.drain(), ctx.storage.close()]);
  ctx.redis.disconnect();
}

/**
 * Health follows the dependencies: SERVING while Redis and NATS are connected and the server
 * is not draining. Events missed while NATS is away cannot be replayed, so open watches end
 * with UNAVAILABLE when the connection drops; clients reconnect and get a fresh snapshot.
 */
function trackDependencies(
  ctx: ControlContext,
  logger: Logger,
  endWatches: (why: string) => void,
  setServing: (serving: boolean) => void,
) {
  const state = {
    draining: false,
    natsUp: () => nats.connected,
    update: () => {
      const up = !state.draining && redisReady(ctx.redis) && state.natsUp();
      setServing(up);
    },
  };
  const nats = watchNatsConnection(ctx.nc, logger, (connected) => {
    if (!connected) endWatches('lost the event feed; reconnect to resume with a fresh snapshot');
    state.update();
  });
  for (const event of ['ready', 'close', 'end', 'reconnecting']) ctx.redis.on(event, state.update);
  return state;
}

/** Stops accepting calls, lets running ones finish within the grace, then closes the rest. */
function shutdownServer(server: Server, graceMs: number, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      logger.warn({ graceMs }, 'calls still open after the shutdown grace; closing them');
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

function listenAddress({ host, port }: { host: string; port: number }): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function serverCredentials(config: ControlConfig): ServerCredentials {
  if ((config.grpcTlsCert === '') !== (config.grpcTlsKey === '')) {
    throw new Error('MQFT_GRPC_TLS_CERT and MQFT_GRPC_TLS_KEY go together: set both or neither');
  }
  if (config.grpcTlsCert === '') return ServerCredentials.createInsecure();
  const pair = {
    cert_chain: readFileSync(config.grpcTlsCert),
    private_key: readFileSync(config.grpcTlsKey),
  };
  return ServerCredentials.createSsl(null, [pair], false);
}
