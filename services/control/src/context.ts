import type { Logger } from '@mqft/config';
import type { Layout } from '@mqft/protocol';
import type { RedisClient, TransferQueries } from '@mqft/state';
import type { StorageBackend } from '@mqft/storage';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** What every RPC works with. Plain objects, so tests can call the RPC functions directly. */
export interface ControlContext {
  settings: {
    /** The JetStream stream name: command and event subjects derive from it. */
    stream: string;
    layout: Layout;
    downloadUrlTtlMs: number;
    abortWaitMs: number;
  };
  redis: RedisClient;
  queries: TransferQueries;
  nc: NatsConnection;
  js: JetStreamClient;
  storage: StorageBackend;
  logger: Logger;
  now: () => number;
  /** False while the assemblers rebuild Redis from the stream (cached briefly when true). */
  stateIsWhole: () => Promise<boolean>;
}

/** One call: its deadline (ms since the epoch, Infinity without one) and its cancellation. */
export interface CallScope {
  deadline: number;
  signal: AbortSignal;
}

/** A scope for callers without a network call around them (tests, tools). */
export function openScope(timeoutMs = Infinity): CallScope {
  return { deadline: Date.now() + timeoutMs, signal: new AbortController().signal };
}
