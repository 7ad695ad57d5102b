import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  AbortTransferRequest,
  GetDownloadUrlRequest,
  GetTransferRequest,
  ListTransfersRequest,
  TransferServiceClient,
  WatchEventType,
  WatchTransfersRequest,
  type WatchTransfersResponse,
} from '@mqft/api';
import { createLogger } from '@mqft/config';
import { transferKey } from '@mqft/protocol';
import {
  CreatedIndexes,
  createRedis,
  StateEpoch,
  TransferStore,
  type RedisClient,
} from '@mqft/state';
import { connectNats, ensureCommandStream, eventSubject } from '@mqft/stream';
import { sharedNatsUrl, sharedRedisUrl, uniqueName } from '@mqft/test-support';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadControlConfig } from '../src/config.js';
import { startControl, type RunningControl } from '../src/control.js';

export const TTL_MS = 10 * 60_000;

export interface HarnessOptions {
  tokens?: string[];
  /** MQFT_STORAGE; a fresh file:// temp dir by default. */
  storage?: string;
  redisUrl?: string;
  natsUrl?: string;
  env?: Record<string, string>;
  /** How often an idle HTTP event stream gets a heartbeat (15 s in production). */
  eventHeartbeatMs?: number;
}

/**
 * A control server in-process on port 0 over the shared Redis and NATS, with a unique key
 * prefix and a uniquely named JetStream stream, a grpc-js client from the generated code, and
 * seeding through TransferStore's real write methods.
 */
export class Harness {
  readonly prefix = `${uniqueName('control')}:`;
  readonly stream = uniqueName('CONTROL');
  readonly dataDir = mkdtempSync(path.join(tmpdir(), 'mqft-control-'));
  redis!: RedisClient;
  store!: TransferStore;
  epoch!: StateEpoch;
  indexes!: CreatedIndexes;
  nc!: NatsConnection;
  jsm!: JetStreamManager;
  control!: RunningControl;
  client!: TransferServiceClient;
  token: string | undefined;

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness();
    await h.init(options);
    return h;
  }

  private async init(options: HarnessOptions): Promise<void> {
    const redisUrl = options.redisUrl ?? sharedRedisUrl();
    this.redis = createRedis(redisUrl);
    this.store = new TransferStore(this.redis, this.prefix);
    this.epoch = new StateEpoch(this.redis, this.prefix);
    this.indexes = new CreatedIndexes(this.redis, this.prefix, {
      maxListed: 1000,
      maxListedPerClient: 1000,
    });
    await this.epoch.markWhole(); // as the assemblers do once Redis holds every transfer
    const natsUrl = options.natsUrl ?? sharedNatsUrl();
    this.nc = await connectNats(natsUrl, 'control-test');
    this.jsm = await jetstreamManager(this.nc);
    await ensureCommandStream(this.jsm, {
      name: this.stream,
      replicas: 1,
      maxAgeMs: TTL_MS,
      maxBytes: 64 * 1024 * 1024,
    });
    this.token = options.tokens?.[0];
    const config = loadControlConfig({
      MQFT_GRPC_ADDR: '127.0.0.1:0',
      MQFT_HTTP_API_ADDR: '127.0.0.1:0',
      MQFT_API_TOKENS: (options.tokens ?? []).join(','),
      MQFT_REDIS_URL: redisUrl,
      MQFT_REDIS_PREFIX: this.prefix,
      MQFT_NATS_URL: natsUrl,
      MQFT_STREAM: this.stream,
      MQFT_STORAGE: options.storage ?? `file://${this.dataDir}`,
      MQFT_SHUTDOWN_GRACE: '2s',
      ...options.env,
    });
    this.control = await startControl(config, createLogger('control-test', 'silent'), undefined, {
      eventHeartbeatMs: options.eventHeartbeatMs,
    });
    this.client = new TransferServiceClient(
      `127.0.0.1:${this.control.port}`,
      credentials.createInsecure(),
    );
  }

  async close(): Promise<void> {
    this.client?.close();
    await this.control?.stop(1000);
    await this.jsm?.streams.delete(this.stream).catch(() => undefined);
    await this.nc?.drain();
    const keys = await this.redis.keys(`${this.prefix}*`).catch(() => [] as string[]);
    if (keys.length > 0) await this.redis.del(...keys);
    this.redis.disconnect();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Calls a unary RPC; the bearer token of the harness unless `token` says otherwise. */
  call<Res>(
    method: UnaryMethod,
    request: object,
    options: { token?: string | null; timeoutMs?: number } = {},
  ): Promise<Res> {
    const metadata = this.metadata(options.token);
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    const full = REQUEST_OF[method].fromPartial(request);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with its receiver
    const fn = this.client[method] as unknown as (
      req: object,
      md: Metadata,
      opts: object,
      cb: (err: ServiceError | null, res: Res) => void,
    ) => void;
    return new Promise((resolve, reject) =>
      fn.call(this.client, full, metadata, { deadline }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  }

  /** The HTTP API's base URL. */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.control.httpPort}`;
  }

  /** An HTTP API request with the harness's token as Bearer, unless `headers` say otherwise. */
  http(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
    const { token = this.token, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    return fetch(`${this.httpUrl}${path}`, { redirect: 'manual', ...rest, headers });
  }

  metadata(token: string | null | undefined = this.token): Metadata {
    const metadata = new Metadata();
    if (token) metadata.set('authorization', `Bearer ${token}`);
    return metadata;
  }

  // --- seeding through TransferStore's real write methods ---

  async seedReceiving(
    clientId: string,
    fileId: string,
    options: { bytes?: number; now?: number; userData?: unknown } = {},
  ): Promise<string> {
    const key = transferKey({ clientId, fileId });
    const now = options.now ?? Date.now();
    const meta = JSON.stringify({
      name: `${fileId}.bin`,
      size: 100,
      ...(options.userData === undefined ? {} : { user_data: options.userData }),
    });
    await this.store.recordInit(key, {
      canonical: meta,
      filemetaJson: meta,
      name: `${fileId}.bin`,
      clientId,
      fileId,
      now,
      ttlMs: TTL_MS,
      declaredSize: 100,
    });
    if (options.bytes)
      await this.store.recordSegment(key, {
        offset: 0,
        seq: 1,
        length: options.bytes,
        now,
        ttlMs: TTL_MS,
        create: true,
      });
    await this.indexes.indexTransfer(key, now);
    return key;
  }

  /** A complete transfer; `bytes` is what storage holds (the caller stores it). */
  async seedComplete(
    clientId: string,
    fileId: string,
    bytes: Uint8Array,
    options: { location?: string; now?: number } = {},
  ): Promise<string> {
    const key = await this.seedReceiving(clientId, fileId, { now: options.now });
    const location = options.location ?? 'file:///x';
    const now = Date.now();
    await this.store.recordSegment(key, {
      offset: 0,
      seq: 2,
      length: bytes.length,
      now,
      ttlMs: TTL_MS,
      create: true,
    });
    await this.store.recordFin(key, {
      size: bytes.length,
      reply: '',
      now,
      ttlMs: TTL_MS,
      clientId,
      fileId,
      create: true,
    });
    const lease = await this.store.acquireLease(key, 'test', 10_000, now);
    if (lease.status !== 'acquired') throw new Error(`no lease: ${lease.status}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const done = await this.store.complete(lease.lease, {
      location,
      size: bytes.length,
      checksum: sha256,
      now: Date.now(),
    });
    if (done.status !== 'complete') throw new Error('not completed');
    return key;
  }

  /** A transfer whose assembly the assembler gave up (failTransfer): state failed. */
  async seedFailed(clientId: string, fileId: string): Promise<string> {
    const key = await this.seedReceiving(clientId, fileId, { bytes: 100 });
    const now = Date.now();
    const fin = { size: 100, reply: '', now, ttlMs: TTL_MS, clientId, fileId, create: true };
    await this.store.recordFin(key, fin);
    const lease = await this.store.acquireLease(key, 'test', 10_000, now);
    if (lease.status !== 'acquired') throw new Error(`no lease: ${lease.status}`);
    const failed = await this.store.fail(lease.lease, {
      reason: 'assembly_failed',
      cause: 'storage_refused',
      now,
    });
    if (failed.status !== 'failed') throw new Error('not failed');
    return key;
  }

  /** What the assembler does on an abort: record it, then publish the event. */
  async abortAsAssembler(key: string, clientId: string, fileId: string): Promise<void> {
    await this.store.recordAbort(key, {
      now: Date.now(),
      ttlMs: TTL_MS,
      clientId,
      fileId,
      create: true,
    });
    this.publishEvent(key, 'aborted');
  }

  publishEvent(key: string, state: string): void {
    this.nc.publish(eventSubject(this.stream, key), JSON.stringify({ key, state, at: Date.now() }));
  }
}

export type UnaryMethod = 'getTransfer' | 'listTransfers' | 'abortTransfer' | 'getDownloadUrl';

// The generated encoders want complete messages; tests write only the fields they mean.
const REQUEST_OF = {
  getTransfer: GetTransferRequest,
  listTransfers: ListTransfersRequest,
  abortTransfer: AbortTransferRequest,
  getDownloadUrl: GetDownloadUrlRequest,
} as const;

export function codeOf(err: unknown): number | undefined {
  return (err as ServiceError | undefined)?.code;
}

/** The status code a call fails with (throws if it succeeds). */
export async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** A watch and everything it received so far. */
export class Watch {
  readonly messages: WatchTransfersResponse[] = [];
  error: ServiceError | undefined;
  ended = false;
  private readonly stream: ClientReadableStream<WatchTransfersResponse>;

  constructor(
    client: TransferServiceClient,
    request: Partial<WatchTransfersRequest>,
    metadata: Metadata,
  ) {
    this.stream = client.watchTransfers(WatchTransfersRequest.fromPartial(request), metadata);
    this.stream.on('data', (m: WatchTransfersResponse) => this.messages.push(m));
    this.stream.on('error', (err: ServiceError) => {
      this.error = err;
    });
    this.stream.on('end', () => {
      this.ended = true;
    });
  }

  get snapshotDone(): boolean {
    return this.messages.some((m) => m.type === WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT_COMPLETE);
  }

  ofType(type: WatchEventType) {
    return this.messages.filter((m) => m.type === type).map((m) => m.transfer);
  }

  cancel(): void {
    this.stream.cancel();
  }
}
