import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Context } from '../context.js';
import { MiB } from '../device.js';
import { cpuMeter } from '../proc.js';
import { mbPerS } from '../report.js';

/** lib-storage's default (and S3's minimum) part size. */
export const HTTP_PART_SIZE = 5 * MiB;

export interface HttpMultipartRun {
  mbps: number;
  /** s3rver's and the uploading process's CPU seconds. */
  cpuSeconds: Record<string, number>;
}

/**
 * What a device would do instead of mqft for one big file: an S3 multipart upload the
 * @aws-sdk/lib-storage `Upload` way (5 MiB parts, `queueSize` parts in flight over as many
 * keep-alive connections) straight to the infra's s3rver. MB/s from start to the completed
 * upload.
 */
export async function httpMultipartUpload(
  ctx: Context,
  data: Buffer,
  queueSize: number,
): Promise<HttpMultipartRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: queueSize });
  const client = new S3Client({
    ...ctx.infra.s3.clientConfig(),
    requestHandler: { httpAgent: agent },
  });
  try {
    const meter = await cpuMeter({ s3rver: ctx.infra.s3.pid });
    const start = performance.now();
    await new Upload({
      client,
      params: { Bucket: ctx.infra.bucket, Key: `http-multipart-${randomUUID()}.bin`, Body: data },
      queueSize,
      partSize: HTTP_PART_SIZE,
    }).done();
    const mbps = mbPerS(data.length, performance.now() - start);
    return { mbps, cpuSeconds: await meter.stop() };
  } finally {
    client.destroy();
    agent.destroy();
  }
}
