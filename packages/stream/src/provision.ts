import type { JetStreamManager, StreamConfig, StreamInfo } from '@nats-io/jetstream';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { commandSubjects } from './subjects.js';

export interface StreamSettings {
  name: string;
  replicas: number;
  /** Segments' time to live: the stream's max age. */
  maxAgeMs: number;
  /** How long a publish retried by ingest is recognised as a duplicate (Nats-Msg-Id). */
  duplicateWindowMs?: number;
  /**
   * The stream's byte limit (MQFT_STREAM_MAX_BYTES). A full stream refuses new messages
   * (discard new: `maximum bytes exceeded`); it never drops what it holds.
   */
  maxBytes: number;
}

/** What ensureCommandStream left in place. */
export interface ProvisionedStream {
  /** The byte limit now in force: above `maxBytes` when the stream held more than that. */
  maxBytes: number;
}

/**
 * Room kept above what a stream holds when its limit is lowered: nats-server 2.9.10 deletes the
 * oldest messages at once when an update sets max_bytes below the stored bytes, whatever the
 * discard policy (nats-server#2589; reproduced: 3 messages of 1 KB, limit lowered to 1.5 KB,
 * 1 left). Messages keep arriving between the info and the update, hence the margin: a
 * quarter of the wanted limit, at most 256 MiB.
 */
const LOWERING_MARGIN_BYTES = 256 * 1024 * 1024;

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
): Promise<ProvisionedStream> {
  const wanted: Partial<StreamConfig> & { name: string } = {
    name: settings.name,
    subjects: [commandSubjects(settings.name)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    // Never Old: at its limit the stream would delete the oldest messages, i.e. segments the
    // devices were told are durable. New refuses the publish; ingest answers 0x97 busy.
    discard: DiscardPolicy.New,
    max_bytes: settings.maxBytes,
    num_replicas: settings.replicas,
    max_age: nanos(settings.maxAgeMs),
    duplicate_window: nanos(settings.duplicateWindowMs ?? DUPLICATE_WINDOW_MS),
    allow_direct: true,
  };
  // Look first: nats-server answers an add that reserves more than it has with `insufficient
  // storage resources` even when the stream exists (2.9.10: a second add of a 40 GiB stream).
  let info = await streamInfo(jsm, settings.name);
  if (!info) {
    try {
      await jsm.streams.add(wanted);
      return { maxBytes: settings.maxBytes };
    } catch (err) {
      if (!/already in use|already exists/i.test((err as Error).message)) {
        throw explainStorage(err, settings.maxBytes);
      }
      info = await jsm.streams.info(settings.name);
    }
  }
  const current = info.config;
  const maxBytes = safeLimit(settings.maxBytes, current.max_bytes, info.state.bytes);
  if (
    current.max_age !== wanted.max_age ||
    current.allow_direct !== true ||
    current.num_replicas !== settings.replicas ||
    current.discard !== DiscardPolicy.New ||
    current.max_bytes !== maxBytes
  ) {
    const { storage: _storage, ...updatable } = wanted;
    await jsm.streams
      .update(settings.name, { ...current, ...updatable, max_bytes: maxBytes })
      .catch((err: unknown) => {
        throw explainStorage(err, maxBytes);
      });
  }
  return { maxBytes };
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (/stream not found/i.test(String(err))) return undefined;
    throw err;
  }
}

/** A stream limit the server cannot reserve is a configuration error: say which one. */
function explainStorage(err: unknown, maxBytes: number): unknown {
  if (!/insufficient storage resources/i.test(String(err))) return err;
  return new Error(
    `NATS cannot reserve MQFT_STREAM_MAX_BYTES=${maxBytes} bytes of JetStream storage ` +
      '(its max_file_store, less what other streams reserve): lower MQFT_STREAM_MAX_BYTES ' +
      'or give JetStream more storage',
    { cause: err },
  );
}

/**
 * The limit to set on an existing stream holding `stored` bytes under the limit `current`
 * (-1: none): the wanted one when that deletes nothing (raising it, or lowering it well above
 * what is stored); otherwise as low as is safe, and the next start tightens it further once the
 * stream has drained.
 */
export function safeLimit(wanted: number, current: number, stored: number): number {
  const unlimited = current <= 0;
  if (!unlimited && wanted >= current) return wanted;
  const floor = stored + Math.min(LOWERING_MARGIN_BYTES, Math.ceil(wanted / 4));
  if (wanted >= floor) return wanted;
  return unlimited ? floor : Math.min(current, floor);
}

/**
 * The one durable pull consumer that every assembler replica shares. It delivers headers only
 * (the body's length comes in Nats-Msg-Size): recording needs where a segment's bytes are, not
 * the bytes, which assembly reads once, by direct get (docs/design.md "Throughput facts").
 *
 * `retired`: durables of earlier versions, deleted once this one exists. nats-server 2.9.10
 * would switch an existing durable to headers only in place, but a replica of the previous
 * version still pulling from it would then record every segment as 0 bytes long (it takes the
 * length from the body): a new durable, created before the old one is deleted, starts from the
 * stream's first message, so nothing the old one left unacknowledged is lost; what it already
 * recorded is recorded again, which is idempotent (the same stream sequence changes nothing).
 */
export async function ensureAssemblerConsumer(
  jsm: JetStreamManager,
  stream: string,
  options: {
    durable: string;
    ackWaitMs: number;
    maxAckPending: number;
    maxDeliver?: number;
    retired?: readonly string[];
  },
): Promise<void> {
  const config = {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(options.ackWaitMs),
    max_ack_pending: options.maxAckPending,
    max_deliver: options.maxDeliver ?? -1,
    filter_subject: commandSubjects(stream),
    headers_only: true,
  };
  try {
    await jsm.consumers.add(stream, config);
  } catch (err) {
    if (!/already in use|already exists/i.test((err as Error).message)) throw err;
    await jsm.consumers.update(stream, options.durable, config);
  }
  for (const durable of options.retired ?? []) {
    await jsm.consumers.delete(stream, durable).catch((err: unknown) => {
      if (!/consumer not found/i.test(String(err))) throw err;
    });
  }
}
