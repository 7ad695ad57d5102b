import { createHash, randomBytes } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { upload, type UploadOptions, type UploadResult } from '@mqft/client';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** `size` bytes of a repeated 1 MiB random block (cheap to make, incompressible enough). */
export function patternBytes(size: number): Buffer {
  const block = randomBytes(Math.min(size, MiB));
  const data = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; at += block.length) block.copy(data, at);
  return data;
}

/** The same bytes as a stream (`block` repeated), for files too large to hold. */
// eslint-disable-next-line @typescript-eslint/require-await -- async: the SDK takes an AsyncIterable
export async function* patternStream(
  size: number,
  block: Buffer = randomBytes(MiB),
): AsyncGenerator<Buffer> {
  for (let at = 0; at < size; at += block.length) {
    yield block.subarray(0, Math.min(block.length, size - at));
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The SHA-256 of patternStream(size, block), without holding the file. */
export function patternSha256(size: number, block: Buffer): string {
  const hash = createHash('sha256');
  for (let at = 0; at < size; at += block.length) {
    hash.update(block.subarray(0, Math.min(block.length, size - at)));
  }
  return hash.digest('hex');
}

/** A device connection as the SDK expects it (MQTT 5, the emqx layout). */
export function connectDevice(url: string, clientId: string): Promise<MqttClient> {
  return connectAsync(url, {
    clientId,
    protocolVersion: 5,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 60_000,
    keepalive: 120,
  });
}

/** Connects `n` devices, `parallel` handshakes at a time. */
export async function connectDevices(
  url: string,
  n: number,
  prefix: string,
  parallel = 100,
): Promise<MqttClient[]> {
  const clients: MqttClient[] = new Array<MqttClient>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      clients[i] = await connectDevice(url, `${prefix}-${i}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return clients;
}

export async function closeAll(clients: MqttClient[]): Promise<void> {
  await Promise.allSettled(clients.map((c) => c.endAsync(true)));
}

export interface TimedUpload {
  result: UploadResult;
  /** Milliseconds from the fin's publish to the fin's result. */
  finToResultMs: number;
  totalMs: number;
}

/** One SDK upload, timing fin → result from the fin's PUBLISH leaving the client. */
export async function timedUpload(
  client: MqttClient,
  input: Parameters<typeof upload>[1],
  options: UploadOptions & { fileId: string },
): Promise<TimedUpload> {
  let finAt = 0;
  const onSend = (packet: { cmd: string; topic?: string }) => {
    if (packet.cmd === 'publish' && packet.topic?.includes(`/${options.fileId}/fin/`)) {
      finAt = performance.now();
    }
  };
  client.on('packetsend', onSend);
  const start = performance.now();
  try {
    const result = await upload(client, input, options).done;
    const end = performance.now();
    return { result, finToResultMs: end - (finAt || end), totalMs: end - start };
  } finally {
    client.off('packetsend', onSend);
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export interface LatencyDistribution {
  count: number;
  percentiles: Record<'p10' | 'p25' | 'p50' | 'p75' | 'p90' | 'p95' | 'p99' | 'max', number>;
  /** `counts[i]` values fell in [i × bucketMs, (i + 1) × bucketMs). */
  histogram: { bucketMs: number; counts: number[] };
}

/** Percentiles and a histogram of `buckets` equal buckets (a round width) from 0 to the max. */
export function latencyDistribution(values: number[], buckets = 20): LatencyDistribution {
  const max = values.reduce((m, v) => Math.max(m, v), 0);
  const bucketMs = roundUp(max / buckets || 1);
  const counts = new Array<number>(Math.max(1, Math.ceil(max / bucketMs + 1e-9))).fill(0);
  for (const v of values) {
    const i = Math.min(counts.length - 1, Math.floor(v / bucketMs));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const p = (q: number) => percentile(values, q);
  return {
    count: values.length,
    percentiles: {
      p10: p(10),
      p25: p(25),
      p50: p(50),
      p75: p(75),
      p90: p(90),
      p95: p(95),
      p99: p(99),
      max,
    },
    histogram: { bucketMs, counts },
  };
}

/** The smallest of 1, 2, 5 × 10^k that is ≥ x. */
function roundUp(x: number): number {
  const k = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * k).find((v) => v >= x) ?? 10 * k;
}
