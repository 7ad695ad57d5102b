import { randomUUID } from 'node:crypto';
import type { Context } from '../context.js';
import { connectDevice, MiB, patternStream, timedUpload } from '../device.js';
import { startBenchStack } from '../infra.js';
import { samplePeakRss, sleep } from '@mqft/test-support';
import type { Row } from '../report.js';

/** Assembler peak RSS while one file of `size` goes through a fresh stack (s3 backend). */
async function assemblerPeak(ctx: Context, size: number): Promise<{ peak: number; idle: number }> {
  const stack = await startBenchStack(ctx.infra, { backend: 's3' });
  const device = await connectDevice(stack.mqttUrl, `bench-mem-${randomUUID().slice(0, 8)}`);
  const assembler = stack.assemblers[0]?.pid;
  const idleSampler = samplePeakRss(() => ({ assembler }));
  await sleep(300); // the idle window measured
  const idle = (await idleSampler.stop())['assembler'] ?? 0;
  const sampler = samplePeakRss(() => ({ assembler }), 25);
  try {
    // A stream source: the device does not hold the file, so only the services' memory grows.
    const run = await timedUpload(
      device,
      { stream: patternStream(size), size },
      { fileId: randomUUID(), name: 'mem.bin', resultTimeoutMs: 300_000 },
    );
    if (run.result.size !== size) throw new Error(`stored ${run.result.size} bytes`);
    return { peak: (await sampler.stop())['assembler'] ?? 0, idle };
  } finally {
    await sampler.stop();
    await device.endAsync(true);
    await stack.stop();
  }
}

export async function memory(ctx: Context): Promise<Row[]> {
  const sizes = ctx.smoke ? [8, 32] : [64, 512, 2048];
  const rows: Row[] = [];
  let first = 0;
  for (const mib of sizes) {
    ctx.log(`assembling ${mib} MiB`);
    const { peak, idle } = await assemblerPeak(ctx, mib * MiB);
    first ||= peak;
    const last = mib === sizes[sizes.length - 1];
    rows.push({
      scenario: 'memory',
      case: `assembler peak RSS, ${mib} MiB file, s3`,
      value: peak / MiB,
      unit: 'MiB',
      baseline: first / MiB,
      ratio: peak / first,
      ...(last ? { target: '≤ 1.25', met: peak / first <= 1.25 } : {}),
      details: { idleRssMiB: idle / MiB },
    });
  }
  return rows;
}
