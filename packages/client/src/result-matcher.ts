import type { ResultMessage } from '@mqft/protocol';

/** One command waiting for its result; it stays registered across retransmissions. */
export interface PendingResult {
  readonly topic: string;
  readonly correlation: string | undefined;
  readonly result: Promise<ResultMessage>;
  /** Stops waiting (the promise never settles afterwards). */
  cancel(): void;
}

interface Waiter {
  topic: string;
  correlation: string | undefined;
  resolve(result: ResultMessage): void;
}

/**
 * Matches results to commands (pure, no MQTT). MQTT 5 results echo the command's Correlation
 * Data, which names exactly one waiter; results without it (MQTT 3.1.1) are matched by their
 * `topic`, the oldest waiter for that topic first. A result nobody waits for (a duplicate
 * answer to a retransmitted command, or another upload's) is dropped.
 */
export class ResultMatcher {
  private readonly byCorrelation = new Map<string, Waiter>();
  private readonly byTopic = new Map<string, Waiter[]>();

  expect(topic: string, correlation?: string): PendingResult {
    let waiter!: Waiter;
    const result = new Promise<ResultMessage>((resolve) => {
      waiter = { topic, correlation, resolve };
    });
    if (correlation !== undefined) this.byCorrelation.set(correlation, waiter);
    const queue = this.byTopic.get(topic);
    if (queue) queue.push(waiter);
    else this.byTopic.set(topic, [waiter]);
    return { topic, correlation, result, cancel: () => this.remove(waiter) };
  }

  /** Hands `result` to its waiter; false when nobody waited for it. */
  deliver(result: ResultMessage, correlation?: string): boolean {
    const waiter =
      correlation !== undefined
        ? this.byCorrelation.get(correlation)
        : this.byTopic.get(result.topic)?.[0];
    if (waiter === undefined) return false;
    this.remove(waiter);
    waiter.resolve(result);
    return true;
  }

  /** Commands still waiting. */
  get size(): number {
    let count = 0;
    for (const queue of this.byTopic.values()) count += queue.length;
    return count;
  }

  private remove(waiter: Waiter): void {
    if (waiter.correlation !== undefined) this.byCorrelation.delete(waiter.correlation);
    const queue = this.byTopic.get(waiter.topic);
    if (!queue) return;
    const index = queue.indexOf(waiter);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.byTopic.delete(waiter.topic);
  }
}

/** Reads a result document; undefined for anything that is not one. */
export function parseResult(payload: Uint8Array): ResultMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const candidate = value as Partial<ResultMessage>;
  if (typeof candidate.topic !== 'string' || typeof candidate.reason_code !== 'number') {
    return undefined;
  }
  return candidate as ResultMessage;
}
