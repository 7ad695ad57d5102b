// The chaos harness: a real mqft pipeline (own Mosquitto, ingest and assembler processes, and
// own NATS / Redis / s3rver where the scenario kills them), N concurrent SDK uploads of random
// sizes over a few device connections, a fault injected at seeded moments, and at the end the
// whole contract checked: every file byte-identical in storage exactly once, nothing left
// behind in %tmp, the stream, Redis or S3 multipart uploads.
import { createCipheriv, createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { connectAsync, type MqttClient } from 'mqtt';
import { upload, type UploadResult } from '@mqft/client';
import { transferKey } from '@mqft/protocol';
import {
  bucketName,
  metricValue,
  seededRandom,
  sharedNatsUrl,
  sharedRedisUrl,
  sleep,
  startMqftStack,
  startNats,
  startRedis,
  startS3rver,
  waitFor,
  type MqftStack,
  type S3ServerHandle,
  type ServerHandle,
} from '@mqft/test-support';

export const SCENARIOS = [
  'ingest-kill',
  'assembler-kill',
  'nats-restart',
  'redis-loss',
  'broker-restart',
  'storage-outage',
  'device-disconnects',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ChaosOptions {
  scenario: Scenario;
  seed: number;
  devices: number;
  uploadsPerDevice: number;
  /** Largest upload in bytes (sizes are log-uniform in [1, maxSize], some are 0). */
  maxSize: number;
  /** How many times the fault is injected (device-disconnects: ignored, it runs on a timer). */
  faults: number;
  /** Bound for all uploads to finish. */
  deadlineMs: number;
  log?: (line: string) => void;
}

export interface FaultRecord {
  what: string;
  /** ms after the uploads started */
  at: number;
  /** How long the component was down (kill → restarted and ready), ms. */
  downMs: number;
  /** From the restart until the next upload completed (or the end), ms. */
  recoveryMs?: number;
}

export interface ChaosReport {
  scenario: Scenario;
  seed: number;
  uploads: number;
  bytes: number;
  durationMs: number;
  faults: FaultRecord[];
  /** Commands the devices sent beyond one per command (retransmissions), summed. */
  resentCommands: number;
  problems: string[];
}

/** Deterministic content for a seed and upload index (AES-CTR keystream). */
function content(seed: number, index: number, size: number): Buffer {
  const key = createHash('sha256').update(`mqft-chaos:${seed}:${index}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** The seed to run: `MQFT_CHAOS_SEED` replays one, else a fresh one. */
export function chaosSeed(fallback?: number): number {
  const env = process.env.MQFT_CHAOS_SEED;
  if (env !== undefined && env !== '') return Number(env) >>> 0;
  return fallback ?? Math.floor(Math.random() * 2 ** 31);
}

interface Planned {
  index: number;
  device: number;
  fileId: string;
  name: string;
  data: Buffer;
  digest: string;
}

interface Infra {
  natsUrl: string;
  redisUrl: string;
  nats?: ServerHandle;
  redis?: ServerHandle;
  s3?: S3ServerHandle;
  bucket?: string;
  dir: string;
  storage: string;
  env: Record<string, string>;
}

async function startInfra(scenario: Scenario): Promise<Infra> {
  const dir = await mkdtemp(join(tmpdir(), `mqft-chaos-${scenario}-`));
  const infra: Infra = {
    natsUrl: sharedNatsUrl(),
    redisUrl: sharedRedisUrl(),
    dir,
    storage: `file://${join(dir, 'files')}`,
    env: {},
  };
  try {
    if (scenario === 'nats-restart') {
      infra.nats = await startNats();
      infra.natsUrl = infra.nats.url;
    }
    if (scenario === 'redis-loss') {
      infra.redis = await startRedis();
      infra.redisUrl = infra.redis.url;
    }
    if (scenario === 'storage-outage') {
      infra.bucket = bucketName('mqft-chaos');
      infra.s3 = await startS3rver({ buckets: [infra.bucket], verbose: true });
      infra.storage = infra.s3.storageUrl(infra.bucket, 'up');
      infra.env = { ...infra.s3.serviceEnv, MQFT_STORAGE_PART_SIZE: '5MiB' };
    }
  } catch (err) {
    await stopInfra(infra);
    throw err;
  }
  return infra;
}

async function stopInfra(infra: Infra): Promise<void> {
  await Promise.allSettled([infra.nats?.stop(), infra.redis?.stop(), infra.s3?.stop()]);
  await rm(infra.dir, { recursive: true, force: true });
}

/** Every regular file under `root`, relative paths. */
async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string) => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await visit(full);
      else out.push(relative(root, full));
    }
  };
  await visit(root);
  return out.sort();
}

/**
 * Runs one scenario once and returns what happened; `problems` lists every broken promise
 * (empty = nothing lost, nothing duplicated, nothing left behind).
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => {});
  const rand = seededRandom(opts.seed);
  const problems: string[] = [];
  const faults: FaultRecord[] = [];
  const infra = await startInfra(opts.scenario);
  let stack: MqftStack | undefined;
  const devices: MqttClient[] = [];
  let stopFaults = false;
  try {
    stack = await startMqftStack({
      storage: infra.storage,
      ingests: 2,
      assemblers: 2,
      natsUrl: infra.natsUrl,
      redisUrl: infra.redisUrl,
      env: {
        // Faster hand-over than production defaults, so a run takes seconds, not minutes.
        MQFT_LEASE_TTL: '5s',
        MQFT_FIN_GRACE: '5s',
        MQFT_SHUTDOWN_GRACE: '2s',
        // The faults kill assemblers mid-assembly far more often than a poison transfer would:
        // the same file may lose several holders, and must still complete (poison detection
        // has tests of its own: services/assembler/test/failure.int.test.ts).
        MQFT_ASSEMBLY_MAX_DEATHS: '20',
        // More detail in the kept logs when chasing a failure (debug: every command's outcome).
        ...(process.env.MQFT_CHAOS_LOG_LEVEL
          ? { MQFT_LOG_LEVEL: process.env.MQFT_CHAOS_LOG_LEVEL }
          : {}),
        ...infra.env,
      },
    });
    const running = stack;

    // The plan: sizes from the seed, content from seed and index.
    const planned: Planned[] = [];
    for (let d = 0; d < opts.devices; d++) {
      for (let u = 0; u < opts.uploadsPerDevice; u++) {
        const index = planned.length;
        const r = rand();
        const size = r < 0.08 ? 0 : Math.floor(Math.exp(rand() * Math.log(opts.maxSize)));
        const data = content(opts.seed, index, size);
        planned.push({
          index,
          device: d,
          fileId: `f${index}`,
          name: `f${index}.bin`,
          data,
          digest: sha256(data),
        });
      }
    }
    const totalBytes = planned.reduce((n, p) => n + p.data.length, 0);
    log(
      `${opts.scenario} seed=${opts.seed}: ${planned.length} uploads, ${(totalBytes / 2 ** 20).toFixed(1)} MiB`,
    );

    for (let d = 0; d < opts.devices; d++) {
      devices.push(
        await connectAsync(running.mqttUrl, {
          clientId: `chaos-${opts.seed}-d${d}`,
          protocolVersion: 5,
          reconnectPeriod: 300,
          connectTimeout: 5_000,
        }),
      );
    }

    const started = performance.now();
    const confirmed = new Map<number, number>();
    const completions: number[] = [];
    const pending = new Set(planned.map((p) => p.index));
    let resent = 0;
    const uploads = planned.map((p) => {
      const transfer = upload(devices[p.device] as MqttClient, p.data, {
        fileId: p.fileId,
        name: p.name,
        resultTimeoutMs: 3_000,
        // A device that keeps trying: what a fleet device does; the test bounds the time.
        retry: { maxAttempts: 1_000, backoffMs: 250, backoffCapMs: 2_000 },
      });
      transfer.on('progress', (pr) => confirmed.set(p.index, pr.bytesConfirmed));
      return transfer.done.then(
        (result: UploadResult) => {
          pending.delete(p.index);
          completions.push(performance.now() - started);
          resent += Math.max(0, result.stats.commandsPublished - expectedCommands(p.data.length));
          return result;
        },
        (err: unknown) => {
          pending.delete(p.index);
          problems.push(`upload ${p.fileId} (${p.data.length} B) failed: ${String(err)}`);
          return undefined;
        },
      );
    });
    let allDone = false;
    const finished = Promise.all(uploads).finally(() => {
      allDone = true;
    });
    const fraction = () => {
      let sum = 0;
      for (const v of confirmed.values()) sum += v;
      return totalBytes === 0 ? 1 : sum / totalBytes;
    };

    const injector = injectFaults(opts, {
      rand,
      stack: running,
      infra,
      devices,
      fraction,
      done: () => allDone || stopFaults,
      started,
      faults,
      log,
    });
    const timeout = sleep(opts.deadlineMs).then(() => 'timeout' as const);
    const outcome = await Promise.race([finished, timeout]);
    const durationMs = performance.now() - started;
    if (outcome === 'timeout') {
      const open = planned.filter((p) => pending.has(p.index));
      problems.push(
        `uploads not finished within ${opts.deadlineMs} ms (${completions.length}/${planned.length} done; ` +
          `open: ${open.map((p) => `${p.fileId}:${confirmed.get(p.index) ?? 0}/${p.data.length}`).join(' ')})`,
      );
      for (const a of running.assemblers) {
        const text = await (await fetch(`${a.url}/metrics`)).text().catch(() => '');
        const lines = text
          .split('\n')
          .filter((l) => /^mqft_assembler_(commands_total|assemblies_total)/.test(l));
        log(`  assembler ${a.pid}: ${lines.join(' | ')}`);
      }
      for (const p of open) {
        const clientId = devices[p.device]?.options.clientId as string;
        const key = transferKey({ clientId, fileId: p.fileId });
        log(`  open ${p.fileId} key ${key}: ${await describeTransfer(infra, running, key)}`);
      }
    }
    stopFaults = true;
    await injector.catch((err: unknown) => problems.push(`fault injection failed: ${String(err)}`));
    for (const f of faults) {
      const end = f.at + f.downMs;
      const next = completions.filter((c) => c >= end).sort((a, b) => a - b)[0];
      // 0: the fault ended after the last upload had completed.
      f.recoveryMs = Math.max(0, Math.round((next ?? durationMs) - end));
    }
    const results = outcome === 'timeout' ? [] : await finished;

    // 1. Every file byte-identical, exactly once.
    for (const [i, result] of results.entries()) {
      const p = planned[i] as Planned;
      if (!result) continue;
      if (result.checksum !== p.digest) problems.push(`${p.fileId}: SDK reported another checksum`);
      const bytes = await readStored(infra, result.location).catch((err: unknown) => {
        problems.push(`${p.fileId}: cannot read ${result.location}: ${String(err)}`);
        return undefined;
      });
      if (bytes && sha256(bytes) !== p.digest) {
        problems.push(
          `${p.fileId}: stored bytes differ (${bytes.length} B, want ${p.data.length} B)`,
        );
      }
    }
    if (outcome !== 'timeout') problems.push(...(await storageProblems(infra, planned, devices)));

    // 2. Nothing left behind in the stream and in Redis (purges may trail the answers).
    if (outcome !== 'timeout') {
      // Up to 2 lease TTLs (10 s) for a watchdog to finish what a killed assembler left.
      const leftovers = await waitForClean(infra, running, 30_000);
      problems.push(...leftovers);
    }
    const report: ChaosReport = {
      scenario: opts.scenario,
      seed: opts.seed,
      uploads: planned.length,
      bytes: totalBytes,
      durationMs: Math.round(durationMs),
      faults,
      resentCommands: resent,
      problems,
    };
    if (problems.length > 0) {
      // The services' whole logs, kept for the diagnosis (the stack's dirs are deleted).
      const keep = join(
        process.env.MQFT_CHAOS_LOGS ?? join(tmpdir(), 'mqft-chaos-logs'),
        `${opts.scenario}-${opts.seed}-${Date.now()}`,
      );
      await mkdir(keep, { recursive: true });
      const services = [
        ...running.ingests.map((s, i) => [`ingest-${i}`, s] as const),
        ...running.assemblers.map((s, i) => [`assembler-${i}`, s] as const),
      ];
      for (const [name, s] of services) await copyFile(s.logFile, join(keep, `${name}.log`));
      for (const [name, s] of [
        ['nats', infra.nats],
        ['redis', infra.redis],
        ['s3rver', infra.s3],
        ['mosquitto', running.broker],
      ] as const) {
        if (s) await copyFile(s.logFile, join(keep, `${name}.log`)).catch(() => undefined);
      }
      log(`  service logs kept in ${keep}`);
    }
    return report;
  } finally {
    stopFaults = true;
    await Promise.allSettled(devices.map((d) => d.endAsync(true)));
    // The killed servers must be up for the stack to delete its stream and keys.
    if (infra.nats && !infra.nats.running) await infra.nats.restart().catch(() => {});
    if (infra.redis && !infra.redis.running) await infra.redis.restart().catch(() => {});
    await stack?.stop().catch(() => {});
    await stopInfra(infra);
  }
}

/** The transfer's Redis state and stream messages, for a stuck upload's diagnosis. */
async function describeTransfer(infra: Infra, stack: MqftStack, key: string): Promise<string> {
  const parts: string[] = [];
  const redis = new Redis(infra.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    const base = `${stack.redisPrefix}ft:{${key}}`;
    const meta = await redis.hgetall(`${base}:meta`);
    delete meta['filemeta'];
    parts.push(`meta=${JSON.stringify(meta)}`);
    // The segment index: member seq:length, scored by offset.
    const segs = await redis.zrange(`${base}:segs`, 0, -1, 'WITHSCORES');
    const offsets = segs.filter((_, i) => i % 2 === 1).map(Number);
    parts.push(`segs=${offsets.length} offsets=${offsets.join(',')}`);
    parts.push(`lease=${await redis.get(`${base}:lease`)}`);
    parts.push(`due=${await redis.zscore(`${stack.redisPrefix}idx:due`, key)}`);
  } catch (err) {
    parts.push(`redis: ${String(err)}`);
  } finally {
    redis.disconnect();
  }
  const nc = await natsConnect({ servers: infra.natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stack.stream, {
      subjects_filter: `ft.${stack.stream}.cmd.${key}`,
    });
    parts.push(
      `stream msgs=${Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0)}`,
    );
    const js = jetstream(nc);
    const oc = await js.consumers.get(stack.stream, {
      filter_subjects: `ft.${stack.stream}.cmd.${key}`,
    });
    const seen: string[] = [];
    const batch = await oc.fetch({ max_messages: 1000, expires: 1_000 });
    for await (const m of batch) {
      seen.push(`${m.seq}:${m.headers?.get('Mqft-Kind')}@${m.headers?.get('Mqft-Offset') ?? ''}`);
      if (m.info.pending === 0) break;
    }
    parts.push(`messages=[${seen.join(' ')}]`);
    const consumer = await jsm.consumers
      .info(stack.stream, 'assembler-headers')
      .catch(() => undefined);
    if (consumer) {
      parts.push(
        `consumer pending=${consumer.num_pending} ack_pending=${consumer.num_ack_pending} redelivered=${consumer.num_redelivered} delivered=${JSON.stringify(consumer.delivered)} ack_floor=${JSON.stringify(consumer.ack_floor)} waiting=${consumer.num_waiting}`,
      );
    }
  } catch (err) {
    parts.push(`nats: ${String(err)}`);
  } finally {
    await nc.close();
  }
  return parts.join(' ');
}

/** Commands an upload sends with no retransmission: init, one per 64 KiB segment, fin. */
function expectedCommands(size: number): number {
  return 2 + Math.ceil(size / (64 * 1024));
}

async function readStored(infra: Infra, location: string): Promise<Buffer> {
  if (location.startsWith('file://')) return readFile(fileURLToPath(location));
  const s3 = infra.s3 as S3ServerHandle;
  const client = new S3Client(s3.clientConfig());
  try {
    const url = new URL(location);
    // s3://bucket/key or an http(s) URL: the key is the path after the bucket.
    const key =
      url.protocol === 's3:'
        ? decodeURIComponent(url.pathname.slice(1))
        : decodeURIComponent(url.pathname.split('/').slice(2).join('/'));
    const response = await client.send(new GetObjectCommand({ Bucket: infra.bucket, Key: key }));
    const body = response.Body as { transformToByteArray(): Promise<Uint8Array> };
    return Buffer.from(await body.transformToByteArray());
  } finally {
    client.destroy();
  }
}

/** Exactly the expected objects, no temp files, no unfinished multipart uploads. */
async function storageProblems(
  infra: Infra,
  planned: Planned[],
  devices: MqttClient[],
): Promise<string[]> {
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const p of planned) {
    const clientId = devices[p.device]?.options.clientId as string;
    expected.add(`${clientId}/${p.fileId}/${p.name}`);
  }
  if (infra.s3) {
    const client = new S3Client(infra.s3.clientConfig());
    const keys: string[] = [];
    try {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: infra.bucket, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) keys.push(o.Key as string);
        token = page.NextContinuationToken;
      } while (token);
    } finally {
      client.destroy();
    }
    const got = new Set(keys.map((k) => k.replace(/^up\//, '')));
    diff(expected, got, 'object', problems);
    if (keys.length !== got.size) problems.push(`duplicate object keys: ${keys.length}`);
    // s3rver cannot list multipart uploads (no ListMultipartUploads); it keeps each unfinished
    // one as a directory under `<bucket>/._S3rver_uploads/`, which must be empty.
    const uploadsDir = join(infra.s3.dir, 'data', infra.bucket as string, '._S3rver_uploads');
    const unfinished = await readdir(uploadsDir).catch(() => [] as string[]);
    if (unfinished.length > 0) {
      problems.push(`${unfinished.length} unfinished multipart upload(s): ${unfinished.join(' ')}`);
    }
  } else {
    const root = fileURLToPath(infra.storage);
    const files = await walk(root);
    const temp = files.filter((f) => f.startsWith('%tmp/'));
    if (temp.length > 0) problems.push(`temp leftovers in %tmp: ${temp.join(' ')}`);
    const data = new Set(
      files.filter((f) => !f.startsWith('%tmp/') && !f.endsWith('.MANIFEST.json')),
    );
    const manifests = files.filter((f) => f.endsWith('.MANIFEST.json'));
    diff(expected, data, 'file', problems);
    if (manifests.length !== expected.size) {
      problems.push(`${manifests.length} manifests for ${expected.size} files`);
    }
    for (const f of data) {
      const size = (await stat(join(root, f))).size;
      const p = planned.find((x) => f.endsWith(`/${x.fileId}/${x.name}`));
      if (p && size !== p.data.length) problems.push(`${f}: ${size} B, want ${p.data.length}`);
    }
  }
  return problems;
}

function diff(expected: Set<string>, got: Set<string>, what: string, problems: string[]): void {
  const missing = [...expected].filter((k) => !got.has(k));
  const extra = [...got].filter((k) => !expected.has(k));
  if (missing.length > 0) problems.push(`missing ${what}s: ${missing.join(' ')}`);
  if (extra.length > 0) problems.push(`extra ${what}s: ${extra.join(' ')}`);
}

/** No segments in the stream, no lease or segment map in Redis, once every transfer is complete. */
async function waitForClean(infra: Infra, stack: MqftStack, timeoutMs: number): Promise<string[]> {
  let last: string[] = [];
  let unfinished: string[] = [];
  let inStream: string[] = [];
  const check = async (): Promise<string[]> => {
    const found: string[] = [];
    unfinished = [];
    inStream = [];
    const nc = await natsConnect({ servers: infra.natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(stack.stream, {
        subjects_filter: `ft.${stack.stream}.cmd.>`,
      });
      if (info.state.messages > 0) {
        const subjects = Object.entries(info.state.subjects ?? {});
        inStream = subjects.map(([subject]) => subject.slice(`ft.${stack.stream}.cmd.`.length));
        found.push(
          `${info.state.messages} message(s) left in the stream on ${subjects.length} subject(s): ` +
            subjects
              .slice(0, 5)
              .map(([s, n]) => `${s}=${n}`)
              .join(' '),
        );
      }
    } finally {
      await nc.close();
    }
    const redis = new Redis(infra.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    try {
      await redis.connect();
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(
          cursor,
          'MATCH',
          `${stack.redisPrefix}ft:*`,
          'COUNT',
          1000,
        );
        cursor = next;
        keys.push(...batch.filter((k) => k.endsWith(':lease') || k.endsWith(':segs')));
      } while (cursor !== '0');
      if (keys.length > 0) found.push(`Redis keys left: ${keys.slice(0, 5).join(' ')}`);
      const states = new Map<string, number>();
      cursor = '0';
      do {
        const [next, batch] = await redis.scan(
          cursor,
          'MATCH',
          `${stack.redisPrefix}ft:*:meta`,
          'COUNT',
          1000,
        );
        cursor = next;
        for (const k of batch) {
          const state = (await redis.hget(k, 'state')) ?? 'none';
          states.set(state, (states.get(state) ?? 0) + 1);
          if (state !== 'complete') unfinished.push(k);
        }
      } while (cursor !== '0');
      const notComplete = [...states].filter(([s]) => s !== 'complete');
      if (notComplete.length > 0) {
        found.push(
          `transfers not complete in Redis: ${JSON.stringify(Object.fromEntries(states))}`,
        );
      }
    } finally {
      redis.disconnect();
    }
    return found;
  };
  try {
    await waitFor(
      async () => {
        last = await check();
        return last.length === 0;
      },
      { timeoutMs, intervalMs: 500, what: 'no leftovers' },
    );
    return [];
  } catch {
    if (last.length === 0) return [`leftover check failed`];
    // What those transfers look like, for the diagnosis (the stack is gone afterwards).
    const described: string[] = [];
    const keys = unfinished.map((k) => /ft:\{(.*)\}:meta$/.exec(k)?.[1]);
    for (const key of new Set([...keys, ...inStream].slice(0, 5))) {
      if (key !== undefined)
        described.push(`  ${key}: ${await describeTransfer(infra, stack, key)}`);
    }
    return described.length > 0 ? [...last, `left behind:\n${described.join('\n')}`] : last;
  }
}

interface FaultContext {
  rand: () => number;
  stack: MqftStack;
  infra: Infra;
  devices: MqttClient[];
  fraction: () => number;
  done: () => boolean;
  started: number;
  faults: FaultRecord[];
  log: (line: string) => void;
}

/** Injects the scenario's fault at seeded moments (progress thresholds) until the uploads end. */
async function injectFaults(opts: ChaosOptions, ctx: FaultContext): Promise<void> {
  const { rand, stack, infra, log } = ctx;
  const now = () => Math.round(performance.now() - ctx.started);
  if (opts.scenario === 'device-disconnects') {
    // Every 0.5–3 s (seeded; the first within 0.6 s) one device's connection is cut under
    // it; MQTT.js reconnects.
    let first = true;
    while (!ctx.done()) {
      await sleep(first ? 100 + rand() * 500 : 500 + rand() * 2_500);
      first = false;
      if (ctx.done()) break;
      const d = Math.floor(rand() * ctx.devices.length);
      const device = ctx.devices[d] as MqttClient;
      const at = now();
      const t0 = performance.now();
      const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
      device.stream?.destroy();
      await closed;
      await waitFor(() => device.connected || ctx.done(), { timeoutMs: 20_000, intervalMs: 20 });
      ctx.faults.push({ what: `device d${d} cut`, at, downMs: Math.round(performance.now() - t0) });
    }
    return;
  }
  const thresholds = Array.from({ length: opts.faults }, () => 0.05 + rand() * 0.85).sort();
  const delays = thresholds.map(() => rand());
  for (const [k, threshold] of thresholds.entries()) {
    // Wait for the seeded share of the bytes to be confirmed (or, for a run whose bytes are
    // all in, a seeded short delay), so the fault lands mid-transfer.
    const deadline = performance.now() + 2_000 + (delays[k] as number) * 4_000;
    while (!ctx.done() && ctx.fraction() < threshold && performance.now() < deadline) {
      await sleep(20);
    }
    if (ctx.done()) return;
    let target: ServerHandle;
    let what: string;
    let outageMs = 0;
    switch (opts.scenario) {
      case 'ingest-kill': {
        const i = Math.floor(rand() * stack.ingests.length);
        target = stack.ingests[i] as ServerHandle;
        what = `ingest ${i} kill -9`;
        break;
      }
      case 'assembler-kill': {
        // Mid-assembly: the replica that reports an active assembly (polled), else any.
        const until = performance.now() + 5_000;
        let found: number | undefined;
        while (found === undefined && !ctx.done() && performance.now() < until) {
          for (const [i, a] of stack.assemblers.entries()) {
            if (
              a.running &&
              ((await metricValue(a.url, 'mqft_assembler_active_assemblies')) ?? 0) > 0
            ) {
              found = i;
              break;
            }
          }
          if (found === undefined) await sleep(10);
        }
        if (ctx.done()) return;
        const i = found ?? Math.floor(rand() * stack.assemblers.length);
        target = stack.assemblers[i] as ServerHandle;
        what = `assembler ${i} kill -9 ${found === undefined ? '(no assembly seen)' : 'mid-assembly'}`;
        break;
      }
      case 'nats-restart':
        target = infra.nats as ServerHandle;
        what = 'NATS kill -9 + restart';
        break;
      case 'redis-loss':
        target = infra.redis as ServerHandle;
        what = 'Redis kill -9 + restart empty';
        break;
      case 'broker-restart':
        target = stack.broker as ServerHandle;
        what = 'Mosquitto kill -9 + restart';
        break;
      case 'storage-outage':
        target = infra.s3 as ServerHandle;
        what = 's3rver down 10 s';
        outageMs = 10_000;
        break;
    }
    const at = now();
    const t0 = performance.now();
    log(`  fault ${k + 1}: ${what} at ${at} ms (${(ctx.fraction() * 100).toFixed(0)} % confirmed)`);
    await target.kill();
    if (outageMs > 0) await sleep(outageMs);
    else await sleep(Math.floor(rand() * 1_000));
    await target.restart();
    const downMs = Math.round(performance.now() - t0);
    ctx.faults.push({ what, at, downMs });
    log(`  ${what}: back after ${downMs} ms`);
  }
}

export function formatReport(r: ChaosReport): string {
  const faults = r.faults
    .map((f) => `${f.what}@${f.at}ms down ${f.downMs}ms recovery ${f.recoveryMs ?? '?'}ms`)
    .join('; ');
  return (
    `${r.scenario} seed=${r.seed}: ${r.uploads} uploads ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ` +
    `${r.durationMs} ms, ${r.faults.length} fault(s), resent ${r.resentCommands} commands` +
    (faults ? ` [${faults}]` : '') +
    (r.problems.length > 0 ? `\n  PROBLEMS:\n  - ${r.problems.join('\n  - ')}` : ' OK')
  );
}
