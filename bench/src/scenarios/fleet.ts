import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from '../context.js';
import { closeAll, connectDevices, KiB, percentile, sha256, timedUpload } from '../device.js';
import { startBenchStack, stackPids } from '../infra.js';
import { samplePeakRss } from '@mqft/test-support';
import { cpuMeter } from '../proc.js';
import type { Row } from '../report.js';

const MiBytes = 1024 * 1024;

/** The soft fd limit of this process (each device is one socket here and one in Mosquitto). */
function openFileLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return 0;
  }
}

export async function fleet(ctx: Context): Promise<Row[]> {
  const wanted = Number(process.env['BENCH_FLEET_DEVICES']) || (ctx.smoke ? 50 : 5000);
  const limit = openFileLimit();
  // Node cannot raise its own RLIMIT_NOFILE; Mosquitto inherits this one too.
  const n = Math.min(wanted, Math.max(0, limit - 500));
  if (n < wanted) ctx.log(`ulimit -n is ${limit}: ${n} devices instead of ${wanted}`);
  const size = 16 * KiB;
  const data = randomBytes(size);
  const checksum = sha256(data);
  // Default settings (MQFT_* in the bench's environment override them, see infra.ts).
  const stack = await startBenchStack(ctx.infra, { backend: 'file' });
  const pids = stackPids(ctx.infra, stack);
  const rss = samplePeakRss(() => pids, 200);
  try {
    ctx.log(`connecting ${n} devices`);
    const connectStart = performance.now();
    const devices = await connectDevices(stack.mqttUrl, n, `bench-fl-${randomUUID().slice(0, 6)}`);
    const connectSeconds = (performance.now() - connectStart) / 1000;
    ctx.log(`connected in ${connectSeconds.toFixed(1)} s; uploading`);
    try {
      const meter = await cpuMeter(pids);
      const start = performance.now();
      const settled = await Promise.allSettled(
        devices.map((device, i) =>
          timedUpload(device, data, {
            fileId: `fleet-${i}`,
            name: 'f.bin',
            checksum,
            resultTimeoutMs: 30_000,
          }),
        ),
      );
      const seconds = (performance.now() - start) / 1000;
      const cpuSeconds = await meter.stop();
      const runs = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = settled.length - runs.length;
      const latencies = runs.map((r) => r.finToResultMs);
      const retransmits = runs.reduce((sum, r) => sum + r.result.stats.commandsPublished - 3, 0);
      const peak = await rss.stop();
      const peakMiB = Object.fromEntries(
        Object.entries(peak).map(([k, v]) => [k, Math.round((v / MiBytes) * 10) / 10]),
      );
      const common = {
        devices: n,
        wanted,
        ulimit: limit,
        connectSeconds,
        retransmits,
        peakRssMiB: peakMiB,
        // Over the upload phase: busy cores = CPU seconds / wall seconds, per process.
        cpuSeconds,
      };
      return [
        {
          scenario: 'fleet',
          case: `${n} devices × 16 KiB: completion (${failed} failed)`,
          value: seconds,
          unit: 's',
          details: { ...common, filesPerSecond: n / seconds },
        },
        {
          scenario: 'fleet',
          case: 'fin → result p50',
          value: percentile(latencies, 50),
          unit: 'ms',
        },
        {
          scenario: 'fleet',
          case: 'fin → result p99',
          value: percentile(latencies, 99),
          unit: 'ms',
        },
        ...Object.entries(peakMiB).map(([name, mib]) => ({
          scenario: 'fleet',
          case: `peak RSS ${name}`,
          value: mib,
          unit: 'MiB',
        })),
      ];
    } finally {
      await closeAll(devices);
    }
  } finally {
    await rss.stop();
    await stack.stop();
  }
}
