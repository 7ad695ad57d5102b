import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { startServer, type ServerExit, type ServerHandle } from './server-process.js';

export interface S3rverOptions {
  /** Buckets to create once the server answers (names of 3+ characters). */
  buckets?: string[];
  /** Log every request to the log file (default false: s3rver's `--silent`). */
  verbose?: boolean;
}

export interface S3ServerHandle extends ServerHandle {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** What @aws-sdk/client-s3 needs to talk to this server (docs/design.md). */
  clientConfig(): S3ClientConfig;
  /** MQFT_STORAGE for `prefix` in `bucket` on this server. */
  storageUrl(bucket: string, prefix: string): string;
  /**
   * What a service needs beside MQFT_STORAGE: the credentials, which the storage package
   * takes from the SDK's default chain, as in production.
   */
  readonly serviceEnv: Readonly<Record<string, string>>;
  createBucket(name: string): Promise<void>;
}

// s3rver's built-in account; it checks request signatures against it.
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';
const REGION = 'us-east-1';

// s3rver plus AbortMultipartUpload and NoSuchUpload, which s3rver 3.7.1 lacks (see there).
const S3RVER_MAIN = fileURLToPath(new URL('./s3rver-main.mjs', import.meta.url));

function httpAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host, port, path: '/', timeout: 2_000 }, (response) => {
      response.resume();
      resolve(response.statusCode !== undefined);
    });
    request.once('timeout', () => request.destroy(new Error('no HTTP answer within 2 s')));
    request.once('error', reject);
  });
}

class S3rverHandle implements S3ServerHandle {
  readonly region = REGION;
  readonly accessKeyId = ACCESS_KEY_ID;
  readonly secretAccessKey = SECRET_ACCESS_KEY;

  constructor(private readonly server: ServerHandle) {}

  get name(): string {
    return this.server.name;
  }
  get host(): string {
    return this.server.host;
  }
  get port(): number {
    return this.server.port;
  }
  get url(): string {
    return this.server.url;
  }
  get endpoint(): string {
    return this.server.url;
  }
  get dir(): string {
    return this.server.dir;
  }
  get logFile(): string {
    return this.server.logFile;
  }
  get running(): boolean {
    return this.server.running;
  }
  get pid(): number | undefined {
    return this.server.pid;
  }
  stop(): Promise<void> {
    return this.server.stop();
  }
  kill(): Promise<void> {
    return this.server.kill();
  }
  terminate(signal?: NodeJS.Signals): Promise<ServerExit> {
    return this.server.terminate(signal);
  }
  restart(): Promise<void> {
    return this.server.restart();
  }
  logTail(lines?: number): Promise<string> {
    return this.server.logTail(lines);
  }

  get serviceEnv(): Readonly<Record<string, string>> {
    return { AWS_ACCESS_KEY_ID: this.accessKeyId, AWS_SECRET_ACCESS_KEY: this.secretAccessKey };
  }

  storageUrl(bucket: string, prefix: string): string {
    const query = new URLSearchParams({
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: 'true',
    });
    return `s3://${bucket}/${prefix}?${query.toString()}`;
  }

  clientConfig(): S3ClientConfig {
    return {
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: true,
      credentials: { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey },
      // Current SDKs add CRC32 checksums to every upload and validate them on download;
      // s3rver knows neither.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
  }

  async createBucket(name: string): Promise<void> {
    const client = new S3Client(this.clientConfig());
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
  }
}

/**
 * Starts s3rver (the npm package) as a child process on a free loopback port, storing
 * objects in its temp dir, so kill() and restart() behave as for the other servers.
 * Beyond s3rver 3.7.1 it supports AbortMultipartUpload and answers NoSuchUpload for unknown
 * upload ids, and ListMultipartUploads (one page); it has no ListParts, and does not check
 * part ETags.
 */
export async function startS3rver(opts: S3rverOptions = {}): Promise<S3ServerHandle> {
  const server = await startServer({
    name: 's3rver',
    scheme: 'http',
    async prepare({ host, port, dir }) {
      const args = [S3RVER_MAIN, path.join(dir, 'data'), host, String(port)];
      if (!opts.verbose) args.push('--silent');
      // Loaders or flags meant for the test runner are not meant for s3rver.
      const { NODE_OPTIONS: _ignored, ...env } = process.env;
      return { command: process.execPath, args, env };
    },
    async ready(ctx) {
      if (!/S3rver listening on/.test(await ctx.log())) return false;
      return httpAnswers(ctx.host, ctx.port);
    },
  });
  const handle = new S3rverHandle(server);
  try {
    for (const bucket of opts.buckets ?? []) await handle.createBucket(bucket);
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
