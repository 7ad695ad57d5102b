import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { startClusterEngines } from '../infra.js';
import { MiB, patternBytes } from '../device.js';
import type { Row } from '../report.js';
import { e2eSmallFiles, smallFilesShape } from './small-files.js';
import { e2eOneFile, fileSizeFor } from './throughput.js';

/** Scenarios 1 (file backend) and 2 with 1+1 and 2+2 ingest/assembler processes. */
export async function scaling(ctx: Context): Promise<Row[]> {
  const on = ctx.engines ? `, ${ctx.engines.label}` : '';
  const data = patternBytes(Math.min(fileSizeFor(ctx), 512 * MiB));
  const shape = smallFilesShape(ctx);
  const small = randomBytes(shape.size);
  ctx.log('one file, 1+1');
  const one1 = await e2eOneFile(ctx, 'file', data, 1);
  ctx.log('one file, 2+2');
  const one2 = await e2eOneFile(ctx, 'file', data, 2);
  ctx.log('small files, 1+1');
  const small1 = await e2eSmallFiles(ctx, shape, small, 1);
  ctx.log('small files, 2+2');
  const small2 = await e2eSmallFiles(ctx, shape, small, 2);
  return [
    {
      scenario: 'scaling',
      case: `one ${data.length / MiB} MiB file, file backend, 2+2 vs 1+1${on}`,
      value: one2.mbps,
      unit: 'MB/s',
      baseline: one1.mbps,
      ratio: one2.mbps / one1.mbps,
      details: { cpu1: one1.cpuSeconds, cpu2: one2.cpuSeconds },
    },
    {
      scenario: 'scaling',
      case: `${shape.files} small files, s3, 2+2 vs 1+1${on}`,
      value: small2.filesPerSecond,
      unit: 'files/s',
      baseline: small1.filesPerSecond,
      ratio: small2.filesPerSecond / small1.filesPerSecond,
      details: { cpu1: small1.cpuSeconds, cpu2: small2.cpuSeconds },
    },
  ];
}

/** The same comparison on Redis Cluster + a 3-node NATS cluster with an R3 stream. */
export async function scalingOnClusters(ctx: Context): Promise<Row[]> {
  ctx.log('starting Redis Cluster (3 masters) and a NATS cluster (3 nodes)');
  const engines = await startClusterEngines();
  try {
    return (await scaling({ ...ctx, engines })).map((row) => ({
      ...row,
      scenario: 'scaling-clusters',
    }));
  } finally {
    await engines.stop();
  }
}
