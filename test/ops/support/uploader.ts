import type { MqttClient } from 'mqtt';
import type { ResultMessage } from '@mqft/protocol';
import { sha256, type TestDevice } from '../../e2e/device.js';

const RETRANSMIT = 0x80;

/**
 * Results by topic, for a device that retransmits: a wait that times out leaves nothing
 * behind, so the answer to the resend (or a late answer to the first send) is not lost.
 */
export class ResultWaiter {
  private readonly waiting = new Map<string, Set<(r: ResultMessage) => void>>();

  constructor(client: MqttClient) {
    client.on('message', (_topic, payload) => {
      let result: ResultMessage;
      try {
        result = JSON.parse(payload.toString('utf8')) as ResultMessage;
      } catch {
        return;
      }
      const waiters = this.waiting.get(result.topic);
      if (!waiters) return;
      this.waiting.delete(result.topic);
      for (const resolve of waiters) resolve(result);
    });
  }

  /** The next result for `topic` within `timeoutMs`, else undefined. Register BEFORE sending. */
  next(topic: string, timeoutMs: number): Promise<ResultMessage | undefined> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(topic) ?? new Set();
      const done = (r: ResultMessage | undefined) => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiting.get(topic) === waiters) this.waiting.delete(topic);
        resolve(r);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      waiters.add(done);
      this.waiting.set(topic, waiters);
    });
  }
}

export interface ResilientUploadOptions {
  segmentSize?: number;
  window?: number;
  /** How long a segment (or init) waits for its result before it is sent again. */
  resultTimeoutMs?: number;
  /** How long fin waits for its result before it is sent again. */
  finTimeoutMs?: number;
  /** The whole upload's bound. */
  deadlineMs?: number;
  /** Called with the number of segments answered so far (at most once a segment). */
  onProgress?: (answered: number, total: number) => void;
  /** Called once every segment is answered, before fin goes out. */
  beforeFin?: () => Promise<void> | void;
}

export interface ResilientUploadResult {
  result: ResultMessage;
  /** Commands sent again because no result came within the timeout. */
  resent: number;
  /** Segments sent again because a fin said they were missing. */
  missingResent: number;
  fins: number;
  /** When fin first went out (performance.now()). */
  finSentAt: number;
}

/**
 * An upload as a device client that follows docs/protocol.md does it: every command that gets no
 * result within its timeout is sent again, `0x80` answers are retried, and an incomplete fin
 * makes it resend exactly the missing ranges and fin again.
 */
export async function resilientUpload(
  device: TestDevice,
  waiter: ResultWaiter,
  fileId: string,
  data: Buffer,
  options: ResilientUploadOptions = {},
): Promise<ResilientUploadResult> {
  const segmentSize = options.segmentSize ?? 64 * 1024;
  const timeoutMs = options.resultTimeoutMs ?? 5_000;
  const deadline = Date.now() + (options.deadlineMs ?? 240_000);
  const stats = { resent: 0, missingResent: 0, fins: 0, finSentAt: 0 };

  const sendUntilAnswered = async (
    topic: string,
    payload: Buffer | string | undefined,
    waitMs: number,
  ): Promise<ResultMessage> => {
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > deadline) throw new Error(`upload deadline passed at ${topic}`);
      const answer = waiter.next(topic, waitMs);
      await device.publish(topic, payload);
      const result = await answer;
      if (result && result.reason_code !== RETRANSMIT) return result;
      if (result && (result.missing?.length ?? 0) > 0) return result; // a fin's missing ranges
      stats.resent += 1;
    }
  };

  const init = await sendUntilAnswered(
    device.topic(fileId, 'init'),
    JSON.stringify({ name: `${fileId}.bin`, size: data.length }),
    timeoutMs,
  );
  if (init.reason_code !== 0) throw new Error(`init failed: ${JSON.stringify(init)}`);

  const offsets: number[] = [];
  for (let offset = 0; offset < data.length; offset += segmentSize) offsets.push(offset);
  const sendSegments = async (list: number[], window: number) => {
    let next = 0;
    let answered = 0;
    const worker = async () => {
      while (next < list.length) {
        const offset = list[next++] as number;
        const result = await sendUntilAnswered(
          device.topic(fileId, String(offset)),
          data.subarray(offset, offset + segmentSize),
          timeoutMs,
        );
        if (result.reason_code !== 0)
          throw new Error(`segment ${offset} failed: ${JSON.stringify(result)}`);
        options.onProgress?.(++answered, list.length);
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
  };
  await sendSegments(offsets, options.window ?? 8);
  await options.beforeFin?.();

  const finTopic = device.topic(fileId, `fin/${data.length}/${sha256(data)}`);
  stats.finSentAt = performance.now();
  for (;;) {
    stats.fins += 1;
    const result = await sendUntilAnswered(finTopic, undefined, options.finTimeoutMs ?? 30_000);
    if (result.reason_code === 0 || (result.missing?.length ?? 0) === 0) {
      return { result, ...stats };
    }
    const missing = result.missing ?? [];
    const again = offsets.filter((offset) =>
      missing.some(([start, end]) => offset < end && offset + segmentSize > start),
    );
    stats.missingResent += again.length;
    await sendSegments(again, options.window ?? 8);
  }
}
