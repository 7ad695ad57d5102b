import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { commandSubjects } from './subjects.js';

export interface StreamSettings {
  name: string;
  replicas: number;
  /** Segments' time to live: the stream's max age. */
  maxAgeMs: number;
  /** How long a publish retried by ingest is recognised as a duplicate (Nats-Msg-Id). */
  duplicateWindowMs?: number;
}

const nanos = (ms: number): number => ms * 1_000_000;

/** How long JetStream remembers a Nats-Msg-Id: a publish retried within it is stored once. */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;

/**
 * Creates the command stream, or brings an existing one's settings in line. Idempotent, safe
 * for N replicas starting at once; never deletes or purges anything.
 */
export async function ensureCommandStream(
  jsm: JetStreamManager,
  settings: StreamSettings,
): Promise<void> {
  const wanted: Partial<StreamConfig> & { name: string } = {
    name: settings.name,
    subjects: [commandSubjects(settings.name)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: settings.replicas,
    max_age: nanos(settings.maxAgeMs),
    duplicate_window: nanos(settings.duplicateWindowMs ?? DUPLICATE_WINDOW_MS),
    allow_direct: true,
  };
  try {
    await jsm.streams.add(wanted);
  } catch (err) {
    if (!/already in use|already exists/i.test((err as Error).message)) throw err;
    const info = await jsm.streams.info(settings.name);
    const current = info.config;
    if (
      current.max_age !== wanted.max_age ||
      current.allow_direct !== true ||
      current.num_replicas !== settings.replicas
    ) {
      const { storage: _storage, ...updatable } = wanted;
      await jsm.streams.update(settings.name, { ...current, ...updatable });
    }
  }
}

/** The one durable pull consumer that every assembler replica shares. */
export async function ensureAssemblerConsumer(
  jsm: JetStreamManager,
  stream: string,
  options: { durable: string; ackWaitMs: number; maxAckPending: number; maxDeliver?: number },
): Promise<void> {
  const config = {
    durable_name: options.durable,
    ack_policy: 'explicit' as const,
    ack_wait: nanos(options.ackWaitMs),
    max_ack_pending: options.maxAckPending,
    max_deliver: options.maxDeliver ?? -1,
    filter_subject: commandSubjects(stream),
  };
  try {
    await jsm.consumers.add(stream, config);
  } catch (err) {
    if (!/already in use|already exists/i.test((err as Error).message)) throw err;
    await jsm.consumers.update(stream, options.durable, config);
  }
}
