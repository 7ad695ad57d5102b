import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { transferKey, type TransferId } from '@mqft/protocol';
import {
  clientActiveKey,
  clientPartOf,
  ClientQuotas,
  CreatedIndexes,
  createRedis,
  DueIndex,
  dueIndexKey,
  RebuildLock,
  RetentionIndex,
  StateEpoch,
  TransferStore,
  type Lease,
  type RedisClient,
} from '@mqft/state';
import { createStorage, type FileUpload, type StorageBackend } from '@mqft/storage';
import {
  commandSubject,
  commandSubjects,
  encodeCommandHeaders,
  ensureCommandStream,
  type ReplyTo,
  type StreamCommand,
  type TransferOutcome,
} from '@mqft/stream';
import { sharedNatsUrl, sharedRedisUrl, uniqueName } from '@mqft/test-support';
import { loadAssemblerConfig, type AssemblerConfig } from '../src/config.js';
import type { AssemblerContext } from '../src/context.js';
import type { TransferEvent } from '../src/events.js';
import { createAssemblerMetrics } from '../src/metrics.js';
import { Purger } from '../src/purger.js';
import { RECORDERS, type RecordOutcome, type StoredCommand } from '../src/record/index.js';
import type { FinResult } from '../src/results.js';

/** A result the assembler was asked to send to a device. */
export interface SentResult {
  key: string;
  reply: ReplyTo;
  result: FinResult;
}

/** One pino line, parsed. */
export type LogLine = { level: number; msg: string } & Record<string, unknown>;

/** A command as ingest stored it: what the recorders get from the consumer. */
export interface PublishedCommand {
  command: StreamCommand;
  stored: StoredCommand;
}

export interface TestAssemblerOptions {
  /** Replaces settings of the configuration (validated defaults otherwise). */
  config?: Partial<AssemblerConfig>;
  /** Wraps the file storage backend (to observe or hold its calls). */
  storage?: (backend: StorageBackend) => StorageBackend;
}

/**
 * An AssemblerContext built in this process, no service and no MQTT: a real TransferStore on
 * the shared Redis under a unique prefix, a real command stream with a unique name on the
 * shared NATS, the file storage backend in a temp dir. The service's outputs — results for
 * devices, events, assembly requests, log lines — are recorded, not sent.
 */
export class TestAssembler {
  readonly results: SentResult[] = [];
  readonly events: Omit<TransferEvent, 'at'>[] = [];
  /** Outcomes stored for backends (recorded here; the outcome stream is the service's). */
  readonly outcomes: TransferOutcome[] = [];
  readonly requested: string[] = [];
  readonly logs: LogLine[] = [];
  readonly registry = new Registry();
  readonly ctx: AssemblerContext;
  private transferCounter = 0;

  private constructor(
    readonly config: AssemblerConfig,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly redis: RedisClient,
    readonly storageDir: string,
    context: Omit<
      AssemblerContext,
      'sendResult' | 'events' | 'outcomes' | 'logger' | 'metrics' | 'purger'
    >,
  ) {
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => void this.logs.push(JSON.parse(line) as LogLine) },
    );
    this.ctx = {
      ...context,
      logger,
      metrics: createAssemblerMetrics(this.registry),
      purger: new Purger({ jsm: context.jsm, stream: config.stream, logger }),
      sendResult: (key, reply, result) => {
        this.results.push({ key, reply, result });
        return Promise.resolve();
      },
      events: { publish: (event) => void this.events.push(event) },
      outcomes: {
        publish: (outcome) => {
          this.outcomes.push(outcome);
          return Promise.resolve();
        },
      },
      requestAssembly: (key) => void this.requested.push(key),
    };
  }

  static async create(options: TestAssemblerOptions = {}): Promise<TestAssembler> {
    const storageDir = await mkdtemp(join(tmpdir(), 'mqft-assembler-test-'));
    const config: AssemblerConfig = {
      ...loadAssemblerConfig({
        MQFT_STREAM: uniqueName('ASM'),
        MQFT_REDIS_PREFIX: `${uniqueName('asm')}:`,
        MQFT_STORAGE: `file://${storageDir}`,
        MQFT_NATS_URL: sharedNatsUrl(),
        MQFT_REDIS_URL: sharedRedisUrl(),
        MQFT_MQTT_CLIENT_ID: 'assembler-test',
      }),
      ...options.config,
    };
    const nc = await connect({ servers: sharedNatsUrl() });
    const jsm = await jetstreamManager(nc);
    await ensureCommandStream(jsm, {
      name: config.stream,
      replicas: 1,
      maxAgeMs: 10 * 60_000,
      maxBytes: 64 * 1024 * 1024,
    });
    const redis = createRedis(sharedRedisUrl());
    const backend = createStorage(config.storage);
    const prefix = config.redisPrefix;
    return new TestAssembler(config, nc, jetstream(nc), redis, storageDir, {
      config,
      store: new TransferStore(redis, prefix),
      due: new DueIndex(redis, prefix),
      quotas: new ClientQuotas(redis, prefix),
      indexes: new CreatedIndexes(redis, prefix, {
        maxListed: config.maxListedTransfers,
        maxListedPerClient: config.maxListedPerClient,
      }),
      epoch: new StateEpoch(redis, prefix),
      rebuildLock: new RebuildLock(redis, prefix),
      retention: new RetentionIndex(redis, prefix),
      jsm,
      storage: options.storage ? options.storage(backend) : backend,
      owner: `test-${randomUUID().slice(0, 8)}`,
      requestAssembly: () => undefined,
    });
  }

  /** A new transfer (of a client of its own unless `clientId` is given), to send commands for. */
  transfer(options: { clientId?: string; fileId?: string } = {}): TestTransfer {
    const n = ++this.transferCounter;
    const id = { clientId: options.clientId ?? `dev${n}`, fileId: options.fileId ?? `file-${n}` };
    return new TestTransfer(this, id);
  }

  /** Publishes a command into the stream the way ingest does (headers, a msg id per publish). */
  async publish(
    command: StreamCommand,
    body: Uint8Array = new Uint8Array(),
  ): Promise<PublishedCommand> {
    const { stream } = this.config;
    const ack = await this.js.publish(commandSubject(stream, command.key), body, {
      headers: encodeCommandHeaders(command, randomUUID()),
      expect: { streamName: stream },
    });
    const stored = { seq: ack.seq, size: body.length, body: () => Promise.resolve(body) };
    return { command, stored };
  }

  /** Records a published command as the consumer would (without acking or deleting it). */
  record({ command, stored }: PublishedCommand): Promise<RecordOutcome> {
    return RECORDERS[command.kind](this.ctx, command, stored);
  }

  /** Messages the stream still holds on the transfer's subject. */
  async storedMessages(key: string): Promise<number> {
    const { stream } = this.config;
    const info = await this.ctx.jsm.streams.info(stream, {
      subjects_filter: commandSubjects(stream),
    });
    return info.state.subjects?.[commandSubject(stream, key)] ?? 0;
  }

  /** Whether the stream still holds the message `seq`. */
  async holds(seq: number): Promise<boolean> {
    return (await this.ctx.jsm.streams.getMessage(this.config.stream, { seq })) !== null;
  }

  /** When the due index has the transfer due, if it has it. */
  async dueAt(key: string): Promise<number | undefined> {
    const score = await this.redis.zscore(dueIndexKey(this.config.redisPrefix), key);
    return score === null ? undefined : Number(score);
  }

  /** Whether the transfer counts against its client's quota. */
  async holdsQuota(key: string): Promise<boolean> {
    const active = clientActiveKey(this.config.redisPrefix, clientPartOf(key));
    return (await this.redis.zscore(active, key)) !== null;
  }

  /** Takes the assembly lease, as the scheduler does before assembleTransfer. */
  async lease(key: string): Promise<Lease> {
    const { ctx } = this;
    const taken = await ctx.store.acquireLease(key, ctx.owner, ctx.config.leaseTtl, Date.now());
    if (taken.status !== 'acquired')
      throw new Error(`lease of ${key} not acquired: ${taken.status}`);
    return taken.lease;
  }

  /** The value of a counter or gauge with these labels. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) throw new Error(`no metric ${name}`);
    const { values } = await metric.get();
    const match = values.find((v) =>
      Object.entries(labels).every(([k, want]) => v.labels[k] === want),
    );
    return match?.value ?? 0;
  }

  /** Log lines with this message. */
  logged(msg: string): LogLine[] {
    return this.logs.filter((line) => line.msg === msg);
  }

  /** Results sent for the transfer's commands of one kind (by the device topic's last part). */
  /** The results sent to `key`'s init, fin, abort, or segment at an offset. */
  resultsFor(key: string, command: 'init' | 'fin' | 'abort' | number): FinResult[] {
    return this.results
      .filter((r) => r.key === key && r.reply.deviceTopic.endsWith(`/${command}`))
      .map((r) => r.result);
  }

  /** Deletes everything this context made: its Redis keys, its stream, its files. */
  async close(): Promise<void> {
    await this.ctx.purger.stop();
    const keys = await this.redis.keys(`${this.config.redisPrefix}*`);
    if (keys.length > 0) await this.redis.del(...keys);
    this.redis.disconnect();
    await this.ctx.jsm.streams.delete(this.config.stream).catch(() => undefined);
    await this.nc.close();
    await this.ctx.storage.close();
    await rm(this.storageDir, { recursive: true, force: true });
  }
}

/** The commands of one transfer, published into the stream as ingest publishes them. */
export class TestTransfer {
  readonly key: string;

  constructor(
    private readonly t: TestAssembler,
    readonly id: TransferId,
  ) {
    this.key = transferKey(id);
  }

  private reply(kind: string): ReplyTo {
    return { deviceTopic: `$file/${this.id.fileId}/${kind}`, responseTopic: `results/${kind}` };
  }

  init(meta: Record<string, unknown> = { name: 'data.bin' }): Promise<PublishedCommand> {
    return this.initRaw(Buffer.from(JSON.stringify(meta)));
  }

  initRaw(body: Uint8Array): Promise<PublishedCommand> {
    return this.t.publish({ kind: 'init', key: this.key, reply: this.reply('init') }, body);
  }

  seg(offset: number, bytes: Uint8Array): Promise<PublishedCommand> {
    return this.t.publish({ kind: 'seg', key: this.key, offset }, bytes);
  }

  /** A segment with the reply ingest attaches to a device's segment (answered when it fails). */
  segWithReply(offset: number, bytes: Uint8Array): Promise<PublishedCommand> {
    return this.t.publish(
      { kind: 'seg', key: this.key, offset, reply: this.reply(String(offset)) },
      bytes,
    );
  }

  fin(size: number, checksum?: string): Promise<PublishedCommand> {
    return this.t.publish({
      kind: 'fin',
      key: this.key,
      size,
      reply: this.reply('fin'),
      ...(checksum !== undefined ? { checksum } : {}),
    });
  }

  abort(): Promise<PublishedCommand> {
    return this.t.publish({ kind: 'abort', key: this.key, reply: this.reply('abort') });
  }

  /** Publishes and records: init, `content` in segments of `segmentSize`, fin. */
  async upload(
    content: Uint8Array,
    options: { segmentSize?: number; checksum?: string; name?: string } = {},
  ): Promise<{ outcomes: RecordOutcome[]; segments: PublishedCommand[] }> {
    const { segmentSize = 1000, name = 'data.bin' } = options;
    const outcomes = [await this.t.record(await this.init({ name, size: content.length }))];
    const segments: PublishedCommand[] = [];
    for (let offset = 0; offset < content.length; offset += segmentSize) {
      const seg = await this.seg(offset, content.subarray(offset, offset + segmentSize));
      segments.push(seg);
      outcomes.push(await this.t.record(seg));
    }
    outcomes.push(await this.t.record(await this.fin(content.length, options.checksum)));
    return { outcomes, segments };
  }
}

/** `n` bytes that differ from offset to offset. */
export function testBytes(n: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return bytes;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The bytes of a file:// location. */
export function readLocation(location: string): Promise<Buffer> {
  return readFile(fileURLToPath(location));
}

/**
 * The real storage backend, watched: how many uploads are open at once (begun, not yet
 * completed or aborted), and a gate that holds every write() while closed.
 */
export class WatchedStorage implements StorageBackend {
  open = 0;
  maxOpen = 0;
  writes = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(private readonly inner: StorageBackend) {}

  get kind(): StorageBackend['kind'] {
    return this.inner.kind;
  }

  /** Holds every write() from now until release(). */
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  async begin(...args: Parameters<StorageBackend['begin']>): Promise<FileUpload> {
    const upload = await this.inner.begin(...args);
    this.open += 1;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    let ended = false;
    const end = () => {
      if (!ended) this.open -= 1;
      ended = true;
    };
    return {
      uploadId: upload.uploadId,
      write: async (chunk) => {
        this.writes += 1;
        await this.gate;
        await upload.write(chunk);
      },
      written: () => upload.written(),
      complete: (expected) => upload.complete(expected).finally(end),
      abort: () => upload.abort().finally(end),
    };
  }

  keyProblem(...args: Parameters<StorageBackend['keyProblem']>) {
    return this.inner.keyProblem(...args);
  }
  abortUnfinished(...args: Parameters<StorageBackend['abortUnfinished']>) {
    return this.inner.abortUnfinished(...args);
  }
  locate(...args: Parameters<StorageBackend['locate']>) {
    return this.inner.locate(...args);
  }
  stat(...args: Parameters<StorageBackend['stat']>) {
    return this.inner.stat(...args);
  }
  read(...args: Parameters<StorageBackend['read']>) {
    return this.inner.read(...args);
  }
  downloadUrl(...args: Parameters<StorageBackend['downloadUrl']>) {
    return this.inner.downloadUrl(...args);
  }
  delete(...args: Parameters<StorageBackend['delete']>) {
    return this.inner.delete(...args);
  }
  close() {
    return this.inner.close();
  }
}
