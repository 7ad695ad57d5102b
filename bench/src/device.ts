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

/** The same bytes as a stream, for files too large to hold. */
// eslint-disable-next-line @typescript-eslint/require-await -- async: the SDK takes an AsyncIterable
export async function* patternStream(size: number): AsyncGenerator<Buffer> {
  const block = randomBytes(MiB);
  for (let at = 0; at < size; at += MiB) yield block.subarray(0, Math.min(MiB, size - at));
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
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
