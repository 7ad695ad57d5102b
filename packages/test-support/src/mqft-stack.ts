import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Cluster, Redis } from 'ioredis';
import { startMosquitto } from './mosquitto.js';
import { startMqftService, type MqftServiceName } from './mqft-service.js';
import { freePort } from './ports.js';
import { startRedis } from './redis.js';
import { sharedNatsUrl, sharedRedisUrl, uniqueName } from './names.js';
import { AddressInUseError, type ServerHandle } from './server-process.js';

/** Starts of control tried when one of its ports was taken meanwhile. */
const CONTROL_START_ATTEMPTS = 3;

export interface MqftStackOptions {
  /** MQFT_STORAGE for the assemblers (and control). */
  storage: string;
  ingests?: number;
  assemblers?: number;
  control?: boolean;
  layout?: 'emqx' | 'scoped';
  /** Extra MQFT_* variables for every service (e.g. MQFT_FIN_GRACE); they win over the stack's. */
  env?: Record<string, string>;
  /** Extra MQFT_* variables for one kind of service (e.g. its broker login); win over `env`. */
  serviceEnv?: Partial<Record<MqftServiceName, Record<string, string>>>;
  /** Use this broker instead of starting the project's Mosquitto. */
  mqttUrl?: string;
  /** A fixed port for the project's Mosquitto. */
  mosquittoPort?: number;
  natsUrl?: string;
  redisUrl?: string;
  /** A Redis of the stack's own instead (for tests that kill or wipe it); stop() stops it. */
  ownRedis?: boolean;
  /** Default: a unique stream and Redis prefix, deleted by stop(). */
  stream?: string;
  redisPrefix?: string;
}

export interface MqftStack {
  readonly mqttUrl: string;
  readonly stream: string;
  readonly redisPrefix: string;
  /** The environment every service got. */
  readonly env: Readonly<Record<string, string>>;
  readonly broker: ServerHandle | undefined;
  /** The stack's own Redis (option `ownRedis`). */
  readonly redis: ServerHandle | undefined;
  readonly ingests: ServerHandle[];
  readonly assemblers: ServerHandle[];
  readonly control: ServerHandle | undefined;
  /** Starts one more service process with the stack's environment. */
  add(service: MqftServiceName): Promise<ServerHandle>;
  /** Stops every process; deletes the stream and the Redis keys when the stack made them up. */
  stop(): Promise<void>;
}

/**
 * The whole mqft pipeline as real processes: the project's Mosquitto (loopback bridge),
 * N ingest, N assembler, optionally control, on NATS and Redis (the machine's shared ones
 * by default, isolated by a unique stream name and key prefix).
 */
export async function startMqftStack(options: MqftStackOptions): Promise<MqftStack> {
  const broker = options.mqttUrl
    ? undefined
    : await startMosquitto(options.mosquittoPort ? { port: options.mosquittoPort } : {});
  const mqttUrl = options.mqttUrl ?? (broker as ServerHandle).url;
  const ownNames = options.stream === undefined;
  const stream = options.stream ?? uniqueName('MQFT_E2E');
  const redisPrefix = options.redisPrefix ?? `${uniqueName('mqft_e2e')}:`;
  const natsUrl = options.natsUrl ?? sharedNatsUrl();
  const redis = options.ownRedis
    ? await startRedis().catch(async (err: unknown) => {
        await broker?.stop();
        throw err;
      })
    : undefined;
  const redisUrl = redis?.url ?? options.redisUrl ?? sharedRedisUrl();
  const env: Record<string, string> = {
    MQFT_MQTT_URL: mqttUrl,
    MQFT_MQTT_SUBSCRIPTION: '$share/ft/mqft/in/$file/#,$share/ft/mqft/in/$file-async/#',
    MQFT_MQTT_TOPIC_PREFIX: 'mqft/in/',
    MQFT_LAYOUT: options.layout ?? 'emqx',
    // The project's Mosquitto cannot vouch for the clientid user property: tests and the local
    // demo accept that (docs/security.md); fleets use the scoped layout or a broker that can.
    MQFT_TRUST_CLIENTID_PROPERTY: 'true',
    MQFT_NATS_URL: natsUrl,
    MQFT_STREAM: stream,
    MQFT_REDIS_URL: redisUrl,
    MQFT_REDIS_PREFIX: redisPrefix,
    MQFT_STORAGE: options.storage,
    MQFT_GRPC_ADDR: `127.0.0.1:${await freePort('127.0.0.1')}`,
    // NATS reserves a stream's max_bytes in its JetStream storage: many test stacks share one
    // NATS, so each reserves less than the default (4 GiB). Enough for a 300 MiB file.
    MQFT_STREAM_MAX_BYTES: '1GiB',
    // A stream's byte limit reserves that much of the NATS server's JetStream storage: the
    // many stacks of a test run on the shared server reserve little each.
    MQFT_OUTCOMES_MAX_BYTES: '64MiB',
    MQFT_HTTP_API_ADDR: `127.0.0.1:${await freePort('127.0.0.1')}`,
    ...options.env,
  };
  const ingests: ServerHandle[] = [];
  const assemblers: ServerHandle[] = [];
  let control: ServerHandle | undefined;
  let ingestIndex = 0;
  const add = async (service: MqftServiceName): Promise<ServerHandle> => {
    // Each ingest process has stable clientIds of its own (persistent sessions).
    const extra: Record<string, string> =
      service === 'ingest' ? { MQFT_MQTT_CLIENT_ID: `${stream}-i${ingestIndex++}` } : {};
    const handle = await startMqftService(service, {
      ...env,
      ...extra,
      ...options.serviceEnv?.[service],
    });
    if (service === 'ingest') ingests.push(handle);
    else if (service === 'assembler') assemblers.push(handle);
    else control = handle;
    return handle;
  };
  /**
   * control listens on two more ports the stack picked ahead (clients read them from `env`):
   * another process may take one meanwhile, so a start that finds one in use is tried again
   * on fresh ports (the ops port alone is picked afresh by the launcher).
   */
  const addControl = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await add('control');
        return;
      } catch (err) {
        if (!(err instanceof AddressInUseError) || attempt >= CONTROL_START_ATTEMPTS) throw err;
        if (options.env?.['MQFT_GRPC_ADDR'] === undefined)
          env['MQFT_GRPC_ADDR'] = `127.0.0.1:${await freePort('127.0.0.1')}`;
        if (options.env?.['MQFT_HTTP_API_ADDR'] === undefined)
          env['MQFT_HTTP_API_ADDR'] = `127.0.0.1:${await freePort('127.0.0.1')}`;
      }
    }
  };
  const stop = async () => {
    await Promise.allSettled(
      [...ingests, ...assemblers, ...(control ? [control] : [])].map((s) => s.stop()),
    );
    await broker?.stop();
    if (ownNames) {
      // Keys in a Redis of our own go with it.
      await deleteStackData({ natsUrl, stream, redisPrefix, ...(redis ? {} : { redisUrl }) });
    }
    await redis?.stop();
  };
  try {
    // Ingest provisions the stream; start one first so the others find it.
    for (let i = 0; i < (options.ingests ?? 1); i++) await add('ingest');
    await Promise.all(Array.from({ length: options.assemblers ?? 1 }, () => add('assembler')));
    if (options.control) await addControl();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    mqttUrl,
    stream,
    redisPrefix,
    env,
    broker,
    redis,
    ingests,
    assemblers,
    get control() {
      return control;
    },
    add,
    stop,
  };
}

/** Deletes a stack's JetStream stream and (given `redisUrl`) every Redis key under its prefix. */
export async function deleteStackData({
  natsUrl,
  stream,
  redisUrl,
  redisPrefix: prefix,
}: {
  natsUrl: string;
  stream: string;
  redisUrl?: string;
  redisPrefix: string;
}): Promise<void> {
  const nc = await connect({ servers: natsUrl.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    // The command stream and the outcome stream (its default name: MQFT_OUTCOMES_STREAM unset).
    for (const name of [stream, `${stream}_OUTCOMES`])
      await jsm.streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
  if (redisUrl === undefined) return;
  // A Redis Cluster (`redis+cluster://h:p,h:p`): every master holds some of the keys.
  const cluster = redisUrl.startsWith('redis+cluster://')
    ? new Cluster(
        redisUrl.split(',').map((part) => {
          const [host, port] = part.replace('redis+cluster://', '').split(':');
          return { host: host ?? '127.0.0.1', port: Number(port) };
        }),
      )
    : undefined;
  const redis = cluster ?? new Redis(redisUrl);
  try {
    const nodes = cluster ? cluster.nodes('master') : [redis as Redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        // One DEL per key: in a cluster, keys of one call must share a slot.
        await Promise.all(keys.map((key) => redis.del(key)));
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
