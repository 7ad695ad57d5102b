import type { JetStreamClient, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { DUPLICATE_WINDOW_MS } from './provision.js';
import { deadLetterSubjects, outcomeSubject, outcomeSubjects } from './subjects.js';

/** How a transfer ended (docs/events.md). */
export const OUTCOME_KINDS = ['complete', 'failed', 'aborted', 'expired'] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

/**
 * One transfer outcome, as stored in the outcome stream and POSTed to the webhook (JSON).
 * `id` names the fact, not the message: every publish of the same outcome carries it (see
 * {@link outcomeId}), so consumers dedupe on it.
 */
export interface TransferOutcome {
  id: string;
  kind: OutcomeKind;
  /** The transfer key: base64url(clientId) "." base64url(fileId). */
  key: string;
  clientId: string;
  fileId: string;
  /** The file name from init; absent when no init was recorded. */
  name?: string;
  /** When it happened, ms since the epoch (complete: when the file was stored). */
  at: number;
  /** complete, expired: where the file is (was). */
  location?: string;
  /** complete, expired: the stored size in bytes. */
  size?: number;
  /** complete: lowercase hex SHA-256 of the stored file. */
  checksum?: string;
  /** complete: when retention deletes the file, ms since the epoch; absent: kept. */
  deleteAt?: number;
  /** failed: why (a reason description, e.g. assembly_failed). */
  reason?: string;
  /** The init's JSON (filemeta: name, size, checksum, expire_at, user_data…), when recorded. */
  filemeta?: unknown;
}

/**
 * The outcome's stable id: `<kind>.<key>.<createdAt>`. `createdAt` is when Redis first recorded
 * the transfer (ms): one transfer has at most one outcome of each kind, and a later upload that
 * reuses the file id is a new transfer with a new id. Whoever publishes the outcome again (a
 * retried publish, the watchdog finishing a crashed assembler's work, an abort redelivered)
 * reads the same record and publishes the same id.
 */
export function outcomeId(kind: OutcomeKind, key: string, createdAt: number): string {
  return `${kind}.${key}.${createdAt}`;
}

/** The outcome stream's name: MQFT_OUTCOMES_STREAM, else `<stream>_OUTCOMES`. */
export function outcomeStreamName(stream: string, configured = ''): string {
  return configured !== '' ? configured : `${stream}_OUTCOMES`;
}

export interface OutcomeStreamSettings {
  /** The outcome stream's own name. */
  name: string;
  /** The command stream's name: the subjects derive from it. */
  stream: string;
  replicas: number;
  maxAgeMs: number;
  maxBytes: number;
}

const nanos = (ms: number): number => ms * 1_000_000;

/**
 * Creates the outcome stream (outcomes and the webhook's dead letters), or brings an existing
 * one's limits in line. Idempotent, safe for N replicas of several services starting at once.
 */
export async function ensureOutcomeStream(
  jsm: JetStreamManager,
  settings: OutcomeStreamSettings,
): Promise<void> {
  const wanted: Partial<StreamConfig> & { name: string } = {
    name: settings.name,
    subjects: [outcomeSubjects(settings.stream), deadLetterSubjects(settings.stream)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: settings.replicas,
    max_age: nanos(settings.maxAgeMs),
    max_bytes: settings.maxBytes,
    duplicate_window: nanos(Math.min(DUPLICATE_WINDOW_MS, settings.maxAgeMs)),
  };
  try {
    await jsm.streams.add(wanted);
  } catch (err) {
    if (!/already in use|already exists/i.test((err as Error).message)) throw err;
    const current = (await jsm.streams.info(settings.name)).config;
    if (
      current.max_age !== wanted.max_age ||
      current.max_bytes !== wanted.max_bytes ||
      current.num_replicas !== settings.replicas
    ) {
      const { storage: _storage, ...updatable } = wanted;
      await jsm.streams.update(settings.name, { ...current, ...updatable });
    }
  }
}

/**
 * Stores an outcome, acknowledged by JetStream; the Nats-Msg-Id is the outcome's id, so a
 * publish repeated within the duplicate window is stored once (`duplicate`). Throws when
 * JetStream does not acknowledge it (the caller retries).
 */
export async function publishOutcome(
  js: JetStreamClient,
  stream: string,
  outcome: TransferOutcome,
  timeoutMs = 5000,
): Promise<{ duplicate: boolean }> {
  const ack = await js.publish(outcomeSubject(stream, outcome.key), JSON.stringify(outcome), {
    msgID: outcome.id,
    timeout: timeoutMs,
  });
  return { duplicate: ack.duplicate };
}
