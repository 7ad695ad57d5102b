import {
  isReasonDescription,
  parseTransferKey,
  type ReasonDescription,
  type TransferId,
} from '@mqft/protocol';
import type { ReplyTo, StreamCommand } from '@mqft/stream';

/** A stream message as the recording handlers see it (stored-command.ts builds it). */
export interface StoredCommand {
  seq: number;
  /** The body's length in bytes (a segment's); the consumer does not deliver the body. */
  size: number;
  /** The body (init's filemeta JSON). */
  body(): Promise<Uint8Array>;
}

/** The states of a finished transfer, in which later commands are ignored. */
type FinishedState = 'complete' | 'aborted' | 'failed';

/**
 * What recording one command did: a short word for the metric label and the log line. One
 * union, so that the table below must decide every outcome (a new one is a type error there).
 */
export type RecordOutcome =
  /** Not written by ingest: no reply, or a key that does not parse. */
  | 'invalid'
  // init
  | 'created'
  | 'resumed'
  /** A refused init: the reason the device was answered with. */
  | Exclude<ReasonDescription, 'success'>
  // seg
  | 'recorded'
  | 'duplicate'
  | `ignored_${FinishedState}`
  // fin, abort (and init of a finished transfer)
  | FinishedState
  | 'ready'
  | 'waiting'
  | 'assembling';

/**
 * What a recorded message leaves behind, by outcome. `false`: the message is referenced (or
 * was never stored for good). `'copy'`: this copy is not referenced (a segment copy another
 * copy made redundant, a refused command). `'transfer_over'`: the transfer is over (complete,
 * aborted, failed): no message of its subject is ever read again. The consumer deletes the
 * message in both cases; for a transfer that is over it also has the subject checked for
 * leftovers a few seconds later (nats-server 2.9.10 now and then keeps a message it
 * acknowledged deleting: docs/reliability.md, bug 15).
 */
export type LeftBehind = false | 'copy' | 'transfer_over';

export const LEAVES_MESSAGE_UNREFERENCED: Readonly<Record<RecordOutcome, LeftBehind>> = {
  invalid: false,
  created: false,
  resumed: false,
  checksum_mismatch: false,
  incomplete: false,
  unavailable: false,
  timeout: false,
  invalid_file_command: false,
  invalid_fileid: false,
  invalid_offset: false,
  invalid_size: false,
  invalid_checksum: false,
  invalid_filemeta_json: false,
  invalid_filemeta: false,
  filemeta_conflict: false,
  file_too_large: false,
  not_authorized: false,
  assembly_failed: false,
  quota_exceeded: 'copy',
  busy: false,
  segments_lost: false,
  // seg past MQFT_MAX_SEGMENTS_PER_TRANSFER: the transfer failed, its messages are purged
  too_many_segments: 'transfer_over',
  recorded: false,
  duplicate: 'copy',
  ignored_complete: 'transfer_over',
  ignored_aborted: 'transfer_over',
  ignored_failed: 'transfer_over',
  complete: 'transfer_over',
  aborted: 'transfer_over',
  failed: 'transfer_over',
  ready: false,
  waiting: false,
  assembling: false,
};

/** What a command of a failed transfer is answered with: the recorded errorReason. */
export function failedReason(errorReason: string): ReasonDescription {
  return isReasonDescription(errorReason) && errorReason !== 'success'
    ? errorReason
    : 'assembly_failed';
}

/** Every outcome, for the metric's label values and the docs. */
export const RECORD_OUTCOMES = Object.keys(LEAVES_MESSAGE_UNREFERENCED) as RecordOutcome[];

/** Who sent a command that the assembler answers, and where the answer goes. */
export interface Answerable {
  reply: ReplyTo;
  id: TransferId;
}

/** init, fin and abort carry a reply; a stored command without one (or a bad key) is invalid. */
export function answerable(command: StreamCommand): Answerable | undefined {
  const id = parseTransferKey(command.key);
  return command.reply && id ? { reply: command.reply, id } : undefined;
}
