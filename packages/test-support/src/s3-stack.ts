import { S3Client } from '@aws-sdk/client-s3';
import { startMqftStack, type MqftStack, type MqftStackOptions } from './mqft-stack.js';
import { bucketName } from './names.js';
import { startS3rver, type S3ServerHandle } from './s3rver.js';

export interface S3StackOptions extends Omit<MqftStackOptions, 'storage'> {
  /** The key prefix the services store under (MQFT_STORAGE's path). */
  prefix: string;
  /** The start of the bucket's unique name (default `mqft-s3`). */
  bucketPrefix?: string;
}

export interface S3Stack {
  readonly stack: MqftStack;
  readonly s3: S3ServerHandle;
  readonly bucket: string;
  /** An AWS SDK client of the s3rver, to read back what the services stored. */
  readonly client: S3Client;
  /** Stops the stack, then the s3rver. */
  stop(): Promise<void>;
}

/**
 * The mqft pipeline storing into S3: an s3rver with a fresh bucket, and a stack whose
 * services get MQFT_STORAGE for `prefix` in it and the credentials.
 */
export async function startS3Stack(options: S3StackOptions): Promise<S3Stack> {
  const { prefix, bucketPrefix, ...stackOptions } = options;
  const bucket = bucketName(bucketPrefix ?? 'mqft-s3');
  const s3 = await startS3rver({ buckets: [bucket] });
  let stack: MqftStack;
  try {
    stack = await startMqftStack({
      ...stackOptions,
      storage: s3.storageUrl(bucket, prefix),
      env: { ...s3.serviceEnv, ...stackOptions.env },
    });
  } catch (err) {
    await s3.stop();
    throw err;
  }
  const client = new S3Client(s3.clientConfig());
  return {
    stack,
    s3,
    bucket,
    client,
    async stop() {
      await stack.stop();
      client.destroy();
      await s3.stop();
    },
  };
}
