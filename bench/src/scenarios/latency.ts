import { randomBytes, randomUUID } from 'node:crypto';
import { sleep } from '@mqft/test-support';
import type { Context } from '../context.js';
import { connectDevice, MiB, patternSha256, patternStream, timedUpload } from '../device.js';
import { startBenchStack, stackPids } from '../infra.js';
import { cpuMeter, pipelineCpuSeconds } from '../proc.js';
import { mbPerS, type Row } from '../report.js';

/** Issue #16: a file's result within 1.5 s of its fin, whatever its size. */
const FIN_TO_RESULT_TARGET_S = 1.5;
/** "Flat": the largest file's fin → result at most this many times the smallest's. */
const FLAT_TARGET = 2;

/** Upload sizes in MiB: `BENCH_LATENCY_MIB=64,256,1024,2048` (the default), tiny for --smoke. */
export function latencySizes(ctx: Context): number[] {
  const fromEnv = (process.env['BENCH_LATENCY_MIB'] ?? '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isFinite(n) && n > 0);
  if (fromEnv.length > 0) return fromEnv;
  return ctx.smoke ? [1, 4] : [64, 256, 1024, 2048];
}

/**
 * fin → result by file size: one stack per backend, one device uploading each size in turn
 * (a stream source: the bench does not hold 2 GiB), each with its checksum declared. A row
 * per size, then the largest against the smallest.
 */
export async function latencyBySize(ctx: Context): Promise<Row[]> {
  const sizes = latencySizes(ctx);
  const block = randomBytes(MiB);
  const rows: Row[] = [];
  for (const backend of ['file', 's3'] as const) {
    const stack = await startBenchStack(ctx.infra, {
      backend,
      ...(ctx.cpuProfDir ? { cpuProfDir: ctx.cpuProfDir } : {}),
    });
    const device = await connectDevice(stack.mqttUrl, `bench-lat-${randomUUID().slice(0, 8)}`);
    try {
      const seconds: number[] = [];
      for (const mib of sizes) {
        const size = Math.round(mib * MiB);
        const checksum = patternSha256(size, block);
        ctx.log(`${backend}: ${mib} MiB`);
        const meter = await cpuMeter(stackPids(ctx.infra, stack));
        const run = await timedUpload(
          device,
          { stream: patternStream(size, block), size },
          { fileId: randomUUID(), name: 'lat.bin', checksum, resultTimeoutMs: 600_000 },
        );
        const cpuSeconds = await meter.stop();
        if (run.result.size !== size) throw new Error(`stored ${run.result.size} bytes`);
        const s = run.finToResultMs / 1000;
        seconds.push(s);
        rows.push({
          scenario: 'latency-by-size',
          case: `fin → result, ${mib} MiB, ${backend}`,
          value: s,
          unit: 's',
          target: `≤ ${FIN_TO_RESULT_TARGET_S}`,
          met: s <= FIN_TO_RESULT_TARGET_S,
          details: {
            backend,
            mib,
            uploadMs: run.totalMs,
            mbps: mbPerS(size, run.totalMs),
            cpuSeconds,
            pipelineCpuPerGiB: pipelineCpuSeconds(cpuSeconds) / (size / (1024 * MiB)),
          },
        });
        await sleep(ctx.smoke ? 200 : 1000); // the previous file's purge lands first
      }
      const first = seconds[0] ?? 0;
      const last = seconds[seconds.length - 1] ?? 0;
      const ratio = first > 0 ? last / first : 0;
      rows.push({
        scenario: 'latency-by-size',
        case: `fin → result, ${sizes[sizes.length - 1]} MiB vs ${sizes[0]} MiB, ${backend} (flat)`,
        value: last,
        unit: 's',
        baseline: first,
        ratio,
        target: `≤ ${FLAT_TARGET}`,
        met: ratio <= FLAT_TARGET,
      });
    } finally {
      await device.endAsync(true);
      await stack.stop();
    }
  }
  return rows;
}
