import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { MqftStack } from '@mqft/test-support';
import { envMiB, type Context } from '../context.js';
import {
  closeAll,
  connectDevices,
  KiB,
  latencyDistribution,
  sha256,
  timedUpload,
} from '../device.js';
import { startBenchStack, stackPids } from '../infra.js';
import { samplePeakRss } from '@mqft/test-support';
import { cpuMeter, pipelineCpuSeconds } from '../proc.js';
import type { Row } from '../report.js';

const MiBytes = 1024 * 1024;
/** Issue #16's targets for the fleet (the backpressure variant has none). */
const CPU_PER_FILE_TARGET_MS = 3.5;
const P99_TARGET_MS = 8000;

/** The soft fd limit of this process (each device is one socket here and one in Mosquitto). */
function openFileLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return 0;
  }
}

export function fleet(ctx: Context): Promise<Row[]> {
  return runFleet(ctx, 'fleet', {});
}

/**
 * The fleet against a deliberately small stream (`BENCH_FLEET_STREAM_MIB`, default 8 MiB, a
 * tenth of what the fleet uploads; 1 MiB for --smoke): new inits are answered 0x97 busy above
 * MQFT_BUSY_STREAM_PERCENT, inits and segments above MQFT_STREAM_FULL_PERCENT, and the SDK
 * backs off. Reports the peak stream bytes (sampled every 100 ms), the busy answers and how
 * many files are in storage.
 */
export function fleetBackpressure(ctx: Context): Promise<Row[]> {
  const mib = envMiB('BENCH_FLEET_STREAM_MIB', ctx.smoke ? 1 : 8);
  return runFleet(ctx, 'fleet-backpressure', {
    MQFT_STREAM_MAX_BYTES: String(Math.round(mib * MiBytes)),
  });
}

async function runFleet(
  ctx: Context,
  scenario: string,
  env: Record<string, string>,
): Promise<Row[]> {
  const wanted = Number(process.env['BENCH_FLEET_DEVICES']) || (ctx.smoke ? 50 : 5000);
  const limit = openFileLimit();
  // Node cannot raise its own RLIMIT_NOFILE; Mosquitto inherits this one too.
  const n = Math.min(wanted, Math.max(0, limit - 500));
  if (n < wanted) ctx.log(`ulimit -n is ${limit}: ${n} devices instead of ${wanted}`);
  const size = 16 * KiB;
  const data = randomBytes(size);
  const checksum = sha256(data);
  // Default settings (MQFT_* in the bench's environment override them, see infra.ts).
  const stack = await startBenchStack(ctx.infra, {
    backend: 'file',
    env,
    ...(ctx.cpuProfDir ? { cpuProfDir: ctx.cpuProfDir } : {}),
  });
  const targets = scenario === 'fleet';
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
      const streamPeak = await sampleStreamPeak(ctx.infra.nats.url, stack.stream, 100);
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
      const peakStreamBytes = await streamPeak.stop();
      const busy = await busyAnswers(stack);
      const stored = await storedFiles(settled);
      const runs = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = settled.length - runs.length;
      const latency = latencyDistribution(runs.map((r) => r.finToResultMs));
      const cpuPerFileMs = (pipelineCpuSeconds(cpuSeconds) / Math.max(1, runs.length)) * 1000;
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
        streamMaxBytes: Number(stack.env['MQFT_STREAM_MAX_BYTES'] ?? 0) || undefined,
        peakStreamBytes,
        busy,
        stored,
      };
      return [
        {
          scenario,
          case: `${n} devices × 16 KiB: completion (${failed} failed, ${stored} stored)`,
          value: seconds,
          unit: 's',
          details: { ...common, filesPerSecond: n / seconds },
        },
        {
          scenario,
          case: 'peak stream bytes',
          value: peakStreamBytes,
          unit: 'B',
        },
        {
          scenario,
          case: 'busy answers (ingest + assembler)',
          value: busy.ingest + busy.assembler,
          unit: 'results',
          details: busy,
        },
        {
          scenario,
          case: 'pipeline CPU per 16 KiB file (broker + ingest + NATS + Redis + assembler)',
          value: cpuPerFileMs,
          unit: 'ms',
          ...(targets
            ? { target: `≤ ${CPU_PER_FILE_TARGET_MS}`, met: cpuPerFileMs <= CPU_PER_FILE_TARGET_MS }
            : {}),
          details: {
            cpuMsPerFile: Object.fromEntries(
              Object.entries(cpuSeconds).map(([k, v]) => [
                k,
                (v / Math.max(1, runs.length)) * 1000,
              ]),
            ),
          },
        },
        {
          scenario,
          case: 'fin → result p50',
          value: latency.percentiles.p50,
          unit: 'ms',
        },
        {
          scenario,
          case: 'fin → result p99',
          value: latency.percentiles.p99,
          unit: 'ms',
          ...(targets
            ? { target: `≤ ${P99_TARGET_MS}`, met: latency.percentiles.p99 <= P99_TARGET_MS }
            : {}),
          // The distribution the fleet latency chart draws (src/charts.ts).
          details: { finToResult: latency },
        },
        ...Object.entries(peakMiB).map(([name, mib]) => ({
          scenario,
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

/** The largest byte count the stream held, sampled every `intervalMs` until stop(). */
async function sampleStreamPeak(natsUrl: string, stream: string, intervalMs: number) {
  const nc = await connect({ servers: natsUrl.split(',') });
  const jsm = await jetstreamManager(nc);
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const info = await jsm.streams.info(stream).catch(() => undefined);
      peak = Math.max(peak, info?.state.bytes ?? 0);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop(): Promise<number> {
      running = false;
      await loop;
      await nc.close();
      return peak;
    },
  };
}

/** 0x97 busy answers the services counted (their /metrics). */
async function busyAnswers(stack: MqftStack): Promise<{ ingest: number; assembler: number }> {
  const total = async (urls: string[], metric: string) => {
    let sum = 0;
    for (const url of urls) {
      const text = await (await fetch(`${url}/metrics`)).text();
      for (const line of text.split('\n')) {
        if (line.startsWith(`${metric}{`)) sum += Number(line.split(' ').pop());
      }
    }
    return sum;
  };
  return {
    ingest: await total(
      stack.ingests.map((s) => s.url),
      'mqft_ingest_busy_total',
    ),
    assembler: await total(
      stack.assemblers.map((s) => s.url),
      'mqft_assembler_busy_total',
    ),
  };
}

/** Files of successful uploads that are in storage (file backend). */
async function storedFiles(
  settled: PromiseSettledResult<{ result: { location: string } }>[],
): Promise<number> {
  let count = 0;
  for (const r of settled) {
    if (r.status !== 'fulfilled') continue;
    const found = await stat(fileURLToPath(r.value.result.location)).catch(() => undefined);
    if (found?.isFile()) count += 1;
  }
  return count;
}
