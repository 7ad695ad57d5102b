import { randomUUID } from 'node:crypto';
import { startMosquitto } from '@mqft/test-support';
import { DEFAULT_SEGMENT_SIZE, DEFAULT_WINDOW } from '@mqft/client';
import { envMiB, type Context } from '../context.js';
import { connectDevice, MiB, patternBytes, sha256, timedUpload } from '../device.js';
import { startBenchStack, stackPids, type Backend } from '../infra.js';
import { cpuMeter, pipelineCpuSeconds } from '../proc.js';
import { HTTP_PART_SIZE, httpMultipartUpload } from './http-multipart.js';
import { mbPerS, type Row } from '../report.js';

/**
 * The ceiling: the same segments as raw QoS 1 PUBLISHes (`$file/<id>/<offset>`, `window` in
 * flight) through a fresh broker with the loopback bridge, to one subscriber of ingest's
 * shared subscription that only acks. Returns MB/s.
 */
export async function rawMqttBaseline(
  data: Buffer,
  segmentSize: number,
  window: number,
): Promise<number> {
  const broker = await startMosquitto();
  const sub = await connectDevice(broker.url, `bench-sub-${process.pid}`);
  const pub = await connectDevice(broker.url, `bench-pub-${process.pid}`);
  try {
    await sub.subscribeAsync('$share/ft/mqft/in/$file/#', { qos: 1 });
    let received = 0;
    const all = new Promise<void>((resolve) =>
      sub.on('message', (_topic, payload) => {
        received += payload.length;
        if (received >= data.length) resolve();
      }),
    );
    const id = randomUUID();
    const start = performance.now();
    let offset = 0;
    const worker = async () => {
      while (offset < data.length) {
        const at = offset;
        offset += segmentSize;
        await pub.publishAsync(`$file/${id}/${at}`, data.subarray(at, at + segmentSize), {
          qos: 1,
          properties: { userProperties: { clientid: 'bench-pub' } },
        });
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
    await all;
    return mbPerS(data.length, performance.now() - start);
  } finally {
    await Promise.allSettled([sub.endAsync(true), pub.endAsync(true)]);
    await broker.stop();
  }
}

export interface OneFileRun {
  mbps: number;
  finToResultMs: number;
  cpuSeconds: Record<string, number>;
}

/** One SDK upload of `data` (default settings) through a fresh stack. */
export async function e2eOneFile(
  ctx: Context,
  backend: Backend,
  data: Buffer,
  scale = 1,
): Promise<OneFileRun> {
  const stack = await startBenchStack(ctx.infra, {
    backend,
    ingests: scale,
    assemblers: scale,
    ...(ctx.cpuProfDir ? { cpuProfDir: ctx.cpuProfDir } : {}),
    ...(ctx.engines ? { engines: ctx.engines } : {}),
  });
  const device = await connectDevice(stack.mqttUrl, `bench-dev-${randomUUID().slice(0, 8)}`);
  try {
    const meter = await cpuMeter(stackPids(ctx.infra, stack, ctx.engines));
    const run = await timedUpload(device, data, {
      fileId: randomUUID(),
      name: 'big.bin',
      checksum: sha256(data),
      segmentSize: segmentSizeFor(),
      resultTimeoutMs: 120_000,
    });
    if (run.result.size !== data.length) throw new Error(`stored ${run.result.size} bytes`);
    return {
      mbps: mbPerS(data.length, run.totalMs),
      finToResultMs: run.finToResultMs,
      cpuSeconds: await meter.stop(),
    };
  } finally {
    await device.endAsync(true);
    await stack.stop();
  }
}

/** The SDK's segment size unless BENCH_SEGMENT_KIB says otherwise (baseline and e2e alike). */
export function segmentSizeFor(): number {
  const kib = Number(process.env['BENCH_SEGMENT_KIB']);
  return kib > 0 ? kib * 1024 : DEFAULT_SEGMENT_SIZE;
}

export function fileSizeFor(ctx: Context): number {
  return Math.round((ctx.smoke ? 8 : envMiB('BENCH_FILE_MIB', 1024)) * MiB);
}

const GiB = 1024 * MiB;
const RATIO_TARGET = 0.35;
const CPU_PER_GIB_TARGET = 16;

export async function throughputOneFile(ctx: Context): Promise<Row[]> {
  const data = patternBytes(fileSizeFor(ctx));
  const mib = data.length / MiB;
  ctx.log(`raw MQTT baseline, ${mib} MiB`);
  const segmentSize = segmentSizeFor();
  const baseline = await rawMqttBaseline(data, segmentSize, DEFAULT_WINDOW);
  ctx.log(`HTTP baseline: S3 multipart (lib-storage), ${DEFAULT_WINDOW} parts at once`);
  const http = await httpMultipartUpload(ctx, data, DEFAULT_WINDOW);
  const httpCase = `HTTP multipart (lib-storage, ${HTTP_PART_SIZE / MiB} MiB parts, ${DEFAULT_WINDOW} at once)`;
  const rows: Row[] = [];
  const vsHttp: Row[] = [];
  for (const backend of ['file', 's3'] as const) {
    ctx.log(`e2e ${backend}`);
    const run = await e2eOneFile(ctx, backend, data);
    const ratio = run.mbps / baseline;
    const cpuPerGiB = pipelineCpuSeconds(run.cpuSeconds) / (data.length / GiB);
    const common = `${mib} MiB, ${segmentSize / 1024} KiB segments, ${backend}`;
    rows.push(
      {
        scenario: 'throughput-one-file',
        case: common,
        value: run.mbps,
        unit: 'MB/s',
        baseline,
        ratio,
        target: `≥ ${RATIO_TARGET}`,
        met: ratio >= RATIO_TARGET,
        details: { finToResultMs: run.finToResultMs, cpuSeconds: run.cpuSeconds },
      },
      {
        scenario: 'throughput-one-file',
        case: `${common}: pipeline CPU per GiB (broker + ingest + NATS + Redis + assembler)`,
        value: cpuPerGiB,
        unit: 'CPU-s/GiB',
        target: `≤ ${CPU_PER_GIB_TARGET}`,
        met: cpuPerGiB <= CPU_PER_GIB_TARGET,
        details: {
          backend,
          cpuSecondsPerGiB: Object.fromEntries(
            Object.entries(run.cpuSeconds).map(([k, v]) => [k, v / (data.length / GiB)]),
          ),
        },
      },
    );
    vsHttp.push({
      scenario: 'throughput-one-file',
      case: `${common}, mqft vs ${httpCase}`,
      value: run.mbps,
      unit: 'MB/s',
      baseline: http.mbps,
      ratio: run.mbps / http.mbps,
      details: { http },
    });
  }
  return [...rows, ...vsHttp];
}
