import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SERVICE_RUNTIME_ENV,
  bucketName,
  freePort,
  startMqftStack,
  startNats,
  startNatsCluster,
  startRedis,
  startRedisCluster,
  startS3rver,
  type MqftStack,
  type S3ServerHandle,
  type ServerHandle,
} from '@mqft/test-support';

const PRELOAD = new URL('./cpu-prof-preload.mjs', import.meta.url).href;

/** The bench's own NATS, Redis and s3rver, shared by the scenarios of one run (in sequence). */
export interface Infra {
  nats: ServerHandle;
  natsMonitor: string;
  redis: ServerHandle;
  s3: S3ServerHandle;
  bucket: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startInfra(): Promise<Infra> {
  const monitorPort = await freePort('127.0.0.1');
  const dir = await mkdtemp(join(tmpdir(), 'mqft-bench-'));
  const bucket = bucketName('mqft-bench');
  const [nats, redis, s3] = await Promise.all([
    startNats({ extraConfig: `http: "127.0.0.1:${monitorPort}"` }),
    startRedis(),
    startS3rver({ buckets: [bucket] }),
  ]);
  return {
    nats,
    natsMonitor: `http://127.0.0.1:${monitorPort}`,
    redis,
    s3,
    bucket,
    dir,
    async stop() {
      await Promise.allSettled([nats.stop(), redis.stop(), s3.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type Backend = 'file' | 's3';

/**
 * NATS and Redis other than the infra's single nodes: the stacks connect to these, with
 * `env` added (MQFT_STREAM_REPLICAS for a NATS cluster).
 */
export interface Engines {
  label: string;
  natsUrl: string;
  redisUrl: string;
  env: Record<string, string>;
  pids(): Record<string, number | undefined>;
  stop(): Promise<void>;
}

/**
 * The production topology's engines on loopback (docs/design.md "Clustered engines"): a
 * Redis Cluster of 3 masters and a 3-node NATS cluster whose stream has 3 replicas.
 */
export async function startClusterEngines(): Promise<Engines> {
  const [redis, nats] = await Promise.all([startRedisCluster(), startNatsCluster({ size: 3 })]);
  return {
    label: 'Redis Cluster ×3 + NATS ×3 (R3)',
    natsUrl: nats.url,
    redisUrl: redis.url,
    env: { MQFT_STREAM_REPLICAS: '3' },
    pids: () =>
      Object.fromEntries([
        ...nats.nodes.map((n, i) => [`nats${i}`, n.pid] as const),
        ...redis.nodes.map((n, i) => [`redis${i}`, n.pid] as const),
      ]),
    async stop() {
      await Promise.allSettled([redis.stop(), nats.stop()]);
    },
  };
}

export interface StackOptions {
  backend: Backend;
  ingests?: number;
  assemblers?: number;
  /** Instead of the infra's Redis (e.g. a counting proxy in front of it). */
  redisUrl?: string;
  env?: Record<string, string>;
  /** Write V8 CPU profiles of the services into this directory. */
  cpuProfDir?: string;
  /** Clustered NATS and Redis instead of the infra's. */
  engines?: Engines;
}

/**
 * MQFT_* variables set in the bench's own environment, passed on to every service so that a
 * setting can be compared without editing a scenario (`MQFT_INGEST_CONNECTIONS=16 pnpm bench`).
 * main.ts prints them: a run with overrides does not measure the defaults.
 */
export function serviceOverrides(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[0].startsWith('MQFT_') && entry[1] !== undefined,
    ),
  );
}

/** A full mqft stack with its own Mosquitto (loopback bridge) on the infra's servers. */
export async function startBenchStack(infra: Infra, opts: StackOptions): Promise<MqftStack> {
  const env: Record<string, string> = {
    // The services' default (test-support's stacks reserve less): the memory scenario's 2 GiB
    // file must fit below MQFT_STREAM_FULL_PERCENT of it.
    MQFT_STREAM_MAX_BYTES: '4GiB',
    // The outcome stream reserves its byte limit too (test-support's stacks: the same).
    MQFT_OUTCOMES_MAX_BYTES: '64MiB',
    ...opts.engines?.env,
    ...serviceOverrides(),
    ...opts.env,
  };
  if (opts.cpuProfDir) {
    // Node 20 does not allow --cpu-prof in NODE_OPTIONS: a preload starts the profiler instead.
    env['NODE_OPTIONS'] = `${SERVICE_RUNTIME_ENV['NODE_OPTIONS'] ?? ''} --import ${PRELOAD}`;
    env['BENCH_CPU_PROF_DIR'] = opts.cpuProfDir;
  }
  let storage = `file://${join(infra.dir, `files-${Date.now()}`)}`;
  if (opts.backend === 's3') {
    storage = infra.s3.storageUrl(infra.bucket, `b${Date.now()}`);
    Object.assign(env, infra.s3.serviceEnv);
  }
  return startMqftStack({
    storage,
    ingests: opts.ingests ?? 1,
    assemblers: opts.assemblers ?? 1,
    natsUrl: opts.engines?.natsUrl ?? infra.nats.url,
    redisUrl: opts.redisUrl ?? opts.engines?.redisUrl ?? infra.redis.url,
    env,
  });
}

/** The pids of every process of a stack and the infra, by name. */
export function stackPids(
  infra: Infra,
  stack: MqftStack,
  engines?: Engines,
): Record<string, number | undefined> {
  const pids: Record<string, number | undefined> = {
    mosquitto: stack.broker?.pid,
    ...(engines ? engines.pids() : { nats: infra.nats.pid, redis: infra.redis.pid }),
    s3rver: infra.s3.pid,
  };
  stack.ingests.forEach((s, i) => (pids[`ingest${i}`] = s.pid));
  stack.assemblers.forEach((s, i) => (pids[`assembler${i}`] = s.pid));
  return pids;
}
