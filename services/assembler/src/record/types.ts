import {
  isReasonDescription,
  parseTransferKey,
  type ReasonDescription,
  type TransferId,
} from '@mqft/protocol';
import type { ReplyTo, StreamCommand } from '@mqft/stream';

/** A stream message as the recording handlers see it. */
export interface StoredCommand {
  seq: number;
  data: Uint8Array;
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
 * True for the outcomes after which nothing references the message: a command for a transfer
 * that is over (its messages were purged already), or a segment copy that another copy made
 * redundant. The consumer deletes such a message from the stream.
 */
export const LEAVES_MESSAGE_UNREFERENCED: Readonly<Record<RecordOutcome, boolean>> = {
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
  quota_exceeded: true,
  busy: false,
  segments_lost: false,
  // seg past MQFT_MAX_SEGMENTS_PER_TRANSFER: the transfer failed, its messages are purged
  too_many_segments: true,
  recorded: false,
  duplicate: true,
  ignored_complete: true,
  ignored_aborted: true,
  ignored_failed: true,
  complete: true,
  aborted: true,
  failed: true,
  ready: false,
  waiting: false,
  assembling: false,
};

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

/** What a command of a failed transfer is answered: its recorded errorReason, else 'aborted'. */
export function failureReason(
  errorReason: string | undefined,
): Exclude<ReasonDescription, 'success'> {
  return errorReason !== undefined && isReasonDescription(errorReason) && errorReason !== 'success'
    ? errorReason
    : 'aborted';
}
