import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { connectAsync } from 'mqtt';
import { expect } from 'vitest';
import type { TransferServiceClient } from '@mqft/api';
import { upload } from '@mqft/client';
import {
  bucketName,
  startMqftStack,
  residentBytes,
  startS3rver,
  type MqftStack,
  type MqftStackOptions,
  type S3ServerHandle,
  type ServerHandle,
} from '@mqft/test-support';
import { sha256 } from '../e2e/device.js';
import { RawDevice } from './raw-device.js';
import { stackApiClient } from '../harness/api-client.js';

export { RawDevice, type RawPublish, type ReceivedResult } from './raw-device.js';

const MiB = 1024 * 1024;

/** What the cluster must stay within after a hostile case (checked by `afterCase`). */
export interface HostileBounds {
  /** A well-behaved device's upload (SDK) completes within this long (default 10 s). */
  uploadWithinMs: number;
  /** Size of that upload (default 256 KiB). */
  uploadBytes: number;
  /** Each assembler's resident set size (default 300 MiB). */
  assemblerRssBytes: number;
  /** Redis keys under the stack's prefix (default 200). */
  redisKeys: number;
  /** Bytes in the stack's JetStream stream (default 8 MiB). */
  streamBytes: number;
}

export const DEFAULT_BOUNDS: HostileBounds = {
  uploadWithinMs: 10_000,
  uploadBytes: 256 * 1024,
  assemblerRssBytes: 300 * MiB,
  redisKeys: 200,
  streamBytes: 8 * MiB,
};

export interface HostileStackOptions {
  /** `file` (default: a temp dir) or `s3` (a fresh s3rver and bucket). */
  storage?: 'file' | 's3';
  layout?: MqftStackOptions['layout'];
  ingests?: number;
  assemblers?: number;
  control?: boolean;
  /** Extra MQFT_* variables for every service. */
  env?: Record<string, string>;
  /** Use this broker instead of the project's Mosquitto (e.g. one with an ACL). */
  mqttUrl?: string;
  /** Overrides of DEFAULT_BOUNDS for every afterCase() of this stack. */
  bounds?: Partial<HostileBounds>;
}

/** What afterCase() measured. */
export interface CaseMeasurements {
  uploadMs: number;
  assemblerRssBytes: number[];
  redisKeys: number;
  streamBytes: number;
}

/**
 * One real mqft stack per hostile-device test file (Mosquitto, ingest, assembler, optionally
 * control, on the shared NATS and Redis under a unique stream and prefix; file storage or
 * s3rver), raw MQTT 5 devices to attack it with, and `afterCase()`: the check that after a
 * hostile case the cluster still serves a well-behaved device and stayed within bounds.
 */
export class HostileHarness {
  private readonly closers: (() => Promise<unknown>)[] = [];
  private readonly pids: (number | undefined)[];
  private readonly redis: Redis;
  private nc: NatsConnection | undefined;
  private apiClient: TransferServiceClient | undefined;

  private constructor(
    readonly stack: MqftStack,
    readonly dir: string,
    readonly s3: S3ServerHandle | undefined,
    readonly bucket: string | undefined,
    readonly bounds: HostileBounds,
  ) {
    this.pids = this.services.map((s) => s.pid);
    this.redis = new Redis(stack.env.MQFT_REDIS_URL ?? 'redis://127.0.0.1:6379');
  }

  static async start(options: HostileStackOptions = {}): Promise<HostileHarness> {
    const dir = await mkdtemp(path.join(tmpdir(), 'mqft-hostile-'));
    let s3: S3ServerHandle | undefined;
    let bucket: string | undefined;
    let storage = `file://${path.join(dir, 'files')}`;
    const env: Record<string, string> = { MQFT_FIN_GRACE: '1s', ...options.env };
    try {
      if (options.storage === 's3') {
        bucket = bucketName('mqft-hostile');
        s3 = await startS3rver({ buckets: [bucket] });
        storage = s3.storageUrl(bucket, 'up');
        Object.assign(env, s3.serviceEnv);
      }
      const stack = await startMqftStack({
        storage,
        layout: options.layout ?? 'emqx',
        ingests: options.ingests ?? 1,
        assemblers: options.assemblers ?? 1,
        control: options.control ?? false,
        env,
        ...(options.mqttUrl ? { mqttUrl: options.mqttUrl } : {}),
      });
      return new HostileHarness(stack, dir, s3, bucket, { ...DEFAULT_BOUNDS, ...options.bounds });
    } catch (err) {
      await s3?.stop();
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get mqttUrl(): string {
    return this.stack.mqttUrl;
  }

  /** The operators' gRPC client of the stack's control (started with `control: true`). */
  get api(): TransferServiceClient {
    if (this.apiClient === undefined) {
      const client = stackApiClient(this.stack);
      this.apiClient = client;
      this.closers.push(() => Promise.resolve(client.close()));
    }
    return this.apiClient;
  }

  /** The service processes whose pids afterCase() holds constant. */
  get services(): ServerHandle[] {
    return [
      ...this.stack.ingests,
      ...this.stack.assemblers,
      ...(this.stack.control ? [this.stack.control] : []),
    ];
  }

  /** A raw MQTT 5 device on the stack's broker (or `url`), closed by stop(). */
  async device(clientId?: string, url = this.mqttUrl): Promise<RawDevice> {
    const device = await RawDevice.connect(url, clientId ? { clientId } : {});
    this.closers.push(() => device.close());
    return device;
  }

  /** The count of Redis keys under the stack's prefix. */
  async redisKeyCount(): Promise<number> {
    let count = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        `${this.stack.redisPrefix}*`,
        'COUNT',
        1000,
      );
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  }

  /** Bytes held in the stack's JetStream stream. */
  async streamBytes(): Promise<number> {
    this.nc ??= await connect({ servers: (this.stack.env.MQFT_NATS_URL ?? '').split(',') });
    const jsm = await jetstreamManager(this.nc);
    return (await jsm.streams.info(this.stack.stream)).state.bytes;
  }

  /** Each service's log since it started (for assertions on what it wrote). */
  async logs(service: ServerHandle, lines = 100_000): Promise<string[]> {
    return (await service.logTail(lines)).split('\n').filter((l) => l.length > 0);
  }

  /**
   * The check after every hostile case: a well-behaved device's upload through the SDK
   * completes (stored byte-identical) within the bound, no service process died or was
   * restarted, and assembler RSS, Redis keys and stream bytes are within bounds.
   */
  async afterCase(overrides: Partial<HostileBounds> = {}): Promise<CaseMeasurements> {
    const bounds = { ...this.bounds, ...overrides };
    const uploadMs = await this.wellBehavedUpload(bounds);
    for (const s of this.services) expect(s.running, 'service still running').toBe(true);
    expect(
      this.services.map((s) => s.pid),
      'no service restarted',
    ).toEqual(this.pids);
    const assemblerRssBytes = await Promise.all(
      this.stack.assemblers.map((a) => residentBytes(a.pid)),
    );
    const redisKeys = await this.redisKeyCount();
    const streamBytes = await this.streamBytes();
    const measured = { uploadMs, assemblerRssBytes, redisKeys, streamBytes };
    console.log(`hostile afterCase: ${JSON.stringify(measured)}`);
    for (const rss of assemblerRssBytes)
      expect(rss, 'assembler RSS').toBeLessThan(bounds.assemblerRssBytes);
    expect(redisKeys, 'Redis keys under the prefix').toBeLessThanOrEqual(bounds.redisKeys);
    expect(streamBytes, 'stream bytes').toBeLessThanOrEqual(bounds.streamBytes);
    return measured;
  }

  private async wellBehavedUpload(bounds: HostileBounds): Promise<number> {
    const clientId = `good-${randomBytes(4).toString('hex')}`;
    const client = await connectAsync(this.mqttUrl, {
      clientId,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,
    });
    try {
      await client.subscribeAsync(`$file-response/${clientId}`, { qos: 1 });
      const data = randomBytes(bounds.uploadBytes);
      const started = Date.now();
      const running = upload(client, data, {
        name: 'good.bin',
        segmentSize: 64 * 1024,
        layout: this.stack.env.MQFT_LAYOUT === 'scoped' ? 'scoped' : 'emqx',
      });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`well-behaved upload took more than ${bounds.uploadWithinMs} ms`)),
          bounds.uploadWithinMs,
        );
      });
      const result = await Promise.race([running.done, deadline]).finally(() =>
        clearTimeout(timer),
      );
      const took = Date.now() - started;
      if (result.location.startsWith('file://'))
        expect(sha256(await readFile(fileURLToPath(result.location)))).toBe(sha256(data));
      return took;
    } finally {
      await client.endAsync(true);
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.closers.map((c) => c()));
    await this.nc?.close();
    this.redis.disconnect();
    await this.stack.stop();
    await this.s3?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
