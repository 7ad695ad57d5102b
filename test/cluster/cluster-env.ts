import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager, type MsgRequest } from '@nats-io/jetstream';
import { Cluster } from 'ioredis';
import {
  startMosquitto,
  startMqftStack,
  startNatsCluster,
  startRedisCluster,
  uniqueName,
  type MqftStack,
  type NatsClusterHandle,
  type RedisClusterHandle,
  type ServerHandle,
} from '@mqft/test-support';

export interface ClusterEnvOptions {
  /** Redis replicas per master: 1 for failover tests (6 nodes). */
  redisReplicas?: 0 | 1;
  /** The second broker's layout (default emqx); the first broker's is always emqx. */
  secondLayout?: 'emqx' | 'scoped';
  env?: Record<string, string>;
}

/**
 * The production topology on one machine: Redis Cluster, a 3-node NATS cluster with an R3
 * stream, and TWO Mosquitto brokers. Broker A has ingest + assembler + control, broker B its
 * own ingest only; all share one stream and one Redis prefix. The assembler publishes fin
 * results on broker A, so broker B bridges `$file-response/#` in from broker A (Mosquitto
 * does not cluster; this bridge is how results reach devices on the other broker).
 */
export interface ClusterEnv {
  readonly redis: RedisClusterHandle;
  readonly nats: NatsClusterHandle;
  /** [A, B]. */
  readonly brokers: [ServerHandle, ServerHandle];
  /** [A (ingest, assembler, control), B (ingest)]. */
  readonly stacks: [MqftStack, MqftStack];
  readonly stream: string;
  readonly redisPrefix: string;
  /** File storage root. */
  readonly dir: string;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  /** An ioredis Cluster client on the cluster. */
  readonly redisClient: Cluster;
  /** Keys under the prefix matching `pattern` (glob after the prefix), from every master. */
  keys(pattern: string): Promise<string[]>;
  /** Command messages still in the stream, per transfer key, as the stream's subject counts say. */
  streamLeftovers(): Promise<Record<string, number>>;
  /**
   * The counts of {@link streamLeftovers} for `keys`, each checked by reading the messages:
   * `left` what can be read (the leader's walk over the subject, else direct gets over it),
   * `ghosts` a count nothing can read — nats-server 2.9.10's subject state gone stale after a
   * restart (seen in failover runs: count 1, the walk and a consumer find nothing), which no
   * consumer would ever deliver.
   */
  readableLeftovers(keys: ReadonlySet<string>): Promise<{
    left: Record<string, number>;
    ghosts: Record<string, number>;
  }>;
  /** One transfer's command messages in the stream, as the stream's leader has them. */
  streamMessages(key: string): Promise<{ seq: number; kind: string; time: string }[]>;
  /** Every stored file under the storage root (relative paths; manifests left out). */
  storedFiles(): Promise<string[]>;
  /** Copies every service's and broker's log into `dir` (for a post-mortem). */
  copyLogs(dir: string): Promise<void>;
  stop(): Promise<void>;
}

function clusterNodes(url: string): { host: string; port: number }[] {
  return url
    .slice('redis+cluster://'.length)
    .split(',')
    .map((hostPort) => {
      const [host, port] = hostPort.split(':');
      return { host: host ?? '127.0.0.1', port: Number(port) };
    });
}

/** deploy/mosquitto/results-bridge.conf: how a second broker gets the assemblers' results. */
const RESULTS_BRIDGE = fileURLToPath(
  new URL('../../deploy/mosquitto/results-bridge.conf', import.meta.url),
);

/**
 * The bridge of broker B that brings the results published on broker A to B's devices: the
 * deployed section (deploy/mosquitto/results-bridge.conf) with broker A's address and a
 * `remote_clientid` of its own.
 */
export async function resultsBridge(brokerA: ServerHandle, name: string): Promise<string> {
  const section = await readFile(RESULTS_BRIDGE, 'utf8');
  return section
    .replace(/^address .*$/m, `address 127.0.0.1:${brokerA.port}`)
    .replace(/^remote_clientid .*$/m, `remote_clientid ${name}`);
}

export async function startClusterEnv(opts: ClusterEnvOptions = {}): Promise<ClusterEnv> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), 'mqft-cluster-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const [redis, nats, brokerA] = await Promise.all([
      startRedisCluster({ replicas: opts.redisReplicas ?? 0, nodeTimeoutMs: 1000 }),
      startNatsCluster({ size: 3 }),
      startMosquitto(),
    ]);
    cleanups.push(
      () => redis.stop(),
      () => nats.stop(),
      () => brokerA.stop(),
    );
    const brokerB = await startMosquitto({
      extraConfig: await resultsBridge(brokerA, `mqft-results-${brokerA.port}`),
    });
    cleanups.push(() => brokerB.stop());
    const stream = uniqueName('MQFT_CL');
    const redisPrefix = `${uniqueName('mqft_cl')}:`;
    const common = {
      storage: `file://${dir}`,
      stream,
      redisPrefix,
      natsUrl: nats.url,
      // MQFT_REDIS_URL as @mqft/config accepts it today: the scheme on every node (it reads
      // each comma-separated part as a URL; the documented `redis+cluster://h:p,h:p` fails).
      redisUrl: redis.url.replaceAll(',', ',redis+cluster://'),
      env: {
        MQFT_STREAM_REPLICAS: '3',
        MQFT_FIN_GRACE: '5s',
        MQFT_MAX_FILE_SIZE: '400MiB',
        MQFT_MAX_ACTIVE_TRANSFERS: '64',
        ...opts.env,
      },
    };
    const stackA = await startMqftStack({
      ...common,
      mqttUrl: brokerA.url,
      ingests: 1,
      assemblers: 1,
      control: true,
    });
    cleanups.push(() => stackA.stop());
    const stackB = await startMqftStack({
      ...common,
      mqttUrl: brokerB.url,
      ingests: 1,
      assemblers: 0,
      layout: opts.secondLayout ?? 'emqx',
    });
    cleanups.push(() => stackB.stop());
    const nc = await connect({
      servers: nats.url.split(','),
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
    });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const redisClient = new Cluster(clusterNodes(redis.url), {
      clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
    });
    cleanups.push(() => Promise.resolve(redisClient.disconnect()));

    const keys = async (pattern: string): Promise<string[]> => {
      const found = new Set<string>();
      for (const master of redisClient.nodes('master')) {
        let cursor = '0';
        do {
          const [next, batch] = await master.scan(cursor, 'MATCH', `${redisPrefix}${pattern}`);
          cursor = next;
          for (const k of batch) found.add(k);
        } while (cursor !== '0');
      }
      return [...found].sort();
    };
    const streamLeftovers = async (): Promise<Record<string, number>> => {
      const root = `ft.${stream}.cmd.`;
      const info = await jsm.streams.info(stream, { subjects_filter: `${root}>` });
      const left: Record<string, number> = {};
      for (const [subject, count] of Object.entries(info.state.subjects ?? {}))
        left[subject.slice(root.length)] = count;
      return left;
    };
    const streamMessages = async (key: string) => {
      const subject = `ft.${stream}.cmd.${key}`;
      const found: { seq: number; kind: string; time: string }[] = [];
      for (let seq = 1; ;) {
        // The leader's answer (not a direct get, which a lagging replica may answer); the
        // client's type lacks next_by_subj, which nats-server 2.9 accepts.
        const request = { seq, next_by_subj: subject } as unknown as MsgRequest;
        const msg = await jsm.streams.getMessage(stream, request);
        if (!msg) return found;
        found.push({
          seq: msg.seq,
          kind: msg.header.get('Mqft-Kind') || '?',
          time: msg.time.toISOString(),
        });
        seq = msg.seq + 1;
      }
    };
    /**
     * How many messages on `subject` direct gets find (any replica may answer: one that kept a
     * message the leader deleted). No consumer: created while a node is down, 2.9.10 places it
     * there, and such consumers preceded every stranded consumer replica (docs/reliability.md).
     */
    const directReads = async (subject: string): Promise<number> => {
      let read = 0;
      for (let seq = 1; ;) {
        const msg = await jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
        if (!msg) return read;
        read++;
        seq = msg.seq + 1;
      }
    };
    const readableLeftovers = async (keys: ReadonlySet<string>) => {
      const left: Record<string, number> = {};
      const ghosts: Record<string, number> = {};
      for (const [key, count] of Object.entries(await streamLeftovers())) {
        if (!keys.has(key)) continue;
        const read =
          (await streamMessages(key)).length || (await directReads(`ft.${stream}.cmd.${key}`));
        if (read > 0) left[key] = count;
        else ghosts[key] = count;
      }
      return { left, ghosts };
    };
    const copyLogs = async (to: string) => {
      await mkdir(to, { recursive: true });
      const services = [
        ...stackA.ingests.map((s, i) => [`a-ingest-${i}`, s] as const),
        ...stackA.assemblers.map((s, i) => [`a-assembler-${i}`, s] as const),
        ...stackB.ingests.map((s, i) => [`b-ingest-${i}`, s] as const),
        ['broker-a', brokerA] as const,
        ['broker-b', brokerB] as const,
        ...nats.nodes.map((s, i) => [`nats-${i}`, s] as const),
        ...redis.nodes.map((s, i) => [`redis-${i}`, s] as const),
      ];
      for (const [name, handle] of services)
        await copyFile(handle.logFile, join(to, `${name}.log`)).catch(() => undefined);
    };
    const storedFiles = async (): Promise<string[]> =>
      (await readdir(dir, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile() && !e.name.endsWith('.MANIFEST.json'))
        .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
        .sort();
    return {
      redis,
      nats,
      brokers: [brokerA, brokerB],
      stacks: [stackA, stackB],
      stream,
      redisPrefix,
      dir,
      nc,
      jsm,
      redisClient,
      keys,
      streamLeftovers,
      readableLeftovers,
      streamMessages,
      storedFiles,
      copyLogs,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
