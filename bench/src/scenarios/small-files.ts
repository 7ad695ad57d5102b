import { randomBytes, randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context } from '../context.js';
import { closeAll, connectDevices, KiB, percentile, sha256, timedUpload } from '../device.js';
import { startBenchStack, stackPids } from '../infra.js';
import { cpuMeter } from '../proc.js';
import type { Row } from '../report.js';

export interface SmallFilesShape {
  files: number;
  connections: number;
  size: number;
}

export function smallFilesShape(ctx: Context): SmallFilesShape {
  const files = Number(process.env['BENCH_SMALL_FILES']) || (ctx.smoke ? 20 : 2000);
  const connections = Number(process.env['BENCH_SMALL_CONNECTIONS']) || (ctx.smoke ? 5 : 200);
  return { files, connections, size: 64 * KiB };
}

/** Runs `total` jobs with `parallel` workers; job i gets its worker's index. */
async function pool(total: number, parallel: number, job: (i: number, w: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async (_, w) => {
      while (next < total) await job(next++, w);
    }),
  );
}

/** mqft's files/s against HTTP PutObject's (issue #16). */
const RATIO_TARGET = 0.8;

/**
 * The baseline, the HTTP way a device would upload instead: PutObject of the same objects
 * from one process, same concurrency. Files/s.
 */
export async function s3PutBaseline(ctx: Context, shape: SmallFilesShape, data: Buffer) {
  const agent = new Agent({ keepAlive: true, maxSockets: shape.connections });
  const client = new S3Client({
    ...ctx.infra.s3.clientConfig(),
    requestHandler: { httpAgent: agent },
  });
  const prefix = `baseline-${randomUUID()}`;
  try {
    const start = performance.now();
    await pool(shape.files, shape.connections, async (i) => {
      await client.send(
        new PutObjectCommand({ Bucket: ctx.infra.bucket, Key: `${prefix}/${i}.bin`, Body: data }),
      );
    });
    return shape.files / ((performance.now() - start) / 1000);
  } finally {
    client.destroy();
    agent.destroy();
  }
}

export interface SmallFilesRun {
  filesPerSecond: number;
  failed: number;
  p50: number;
  p99: number;
  cpuSeconds: Record<string, number>;
}

/** The same objects uploaded by `connections` devices through a fresh stack (s3 backend). */
export async function e2eSmallFiles(
  ctx: Context,
  shape: SmallFilesShape,
  data: Buffer,
  scale = 1,
  env: Record<string, string> = {},
): Promise<SmallFilesRun> {
  const stack = await startBenchStack(ctx.infra, {
    backend: 's3',
    ingests: scale,
    assemblers: scale,
    env,
    ...(ctx.cpuProfDir ? { cpuProfDir: ctx.cpuProfDir } : {}),
    ...(ctx.engines ? { engines: ctx.engines } : {}),
  });
  const devices = await connectDevices(
    stack.mqttUrl,
    shape.connections,
    `bench-sf-${randomUUID().slice(0, 6)}`,
  );
  const checksum = sha256(data);
  const latencies: number[] = [];
  const failures: string[] = [];
  try {
    const meter = await cpuMeter(stackPids(ctx.infra, stack, ctx.engines));
    const start = performance.now();
    await pool(shape.files, shape.connections, async (i, w) => {
      try {
        const run = await timedUpload(devices[w]!, data, {
          fileId: `f${i}`,
          name: `${i}.bin`,
          checksum,
        });
        latencies.push(run.finToResultMs);
      } catch (err) {
        failures.push(String(err));
      }
    });
    const seconds = (performance.now() - start) / 1000;
    return {
      filesPerSecond: latencies.length / seconds,
      failed: failures.length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      cpuSeconds: await meter.stop(),
    };
  } finally {
    await closeAll(devices);
    await stack.stop();
  }
}

export async function manySmallFiles(ctx: Context): Promise<Row[]> {
  const shape = smallFilesShape(ctx);
  const data = randomBytes(shape.size);
  ctx.log(
    `HTTP baseline, S3 PutObject: ${shape.files} × ${shape.size / KiB} KiB, ${shape.connections} at once`,
  );
  const baseline = await s3PutBaseline(ctx, shape, data);
  const rows: Row[] = [];
  const only = process.env['BENCH_SMALL_TUNINGS'];
  for (const [label, env] of TUNINGS.filter(([l]) => !only || only.split(',').includes(l))) {
    ctx.log(`e2e, ${label}`);
    const run = await e2eSmallFiles(ctx, shape, data, 1, env);
    const ratio = run.filesPerSecond / baseline;
    rows.push({
      scenario: 'many-small-files',
      case: `${shape.files} × ${shape.size / KiB} KiB, ${shape.connections} devices, s3, ${label}, mqft vs HTTP PutObject`,
      value: run.filesPerSecond,
      unit: 'files/s',
      baseline,
      ratio,
      target: `≥ ${RATIO_TARGET}`,
      met: ratio >= RATIO_TARGET,
      details: {
        failed: run.failed,
        finToResultP50Ms: run.p50,
        finToResultP99Ms: run.p99,
        cpuSeconds: run.cpuSeconds,
      },
    });
  }
  return rows;
}

/**
 * Defaults, then the assembly concurrency raised. Since small files are admitted by bytes
 * (services/assembler/src/admission.ts: up to 64 at once with the defaults), both rows should
 * match within the noise; a gap means small files queue for assembly slots again.
 */
export const TUNINGS: [string, Record<string, string>][] = [
  ['defaults', {}],
  ['MQFT_ASSEMBLY_CONCURRENCY=64', { MQFT_ASSEMBLY_CONCURRENCY: '64' }],
];
