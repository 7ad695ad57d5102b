import { parseTransferKey, type TransferId } from '@mqft/protocol';
import type { ReplyTo, StreamCommand } from '@mqft/stream';

/** A stream message as the recording handlers see it. */
export interface StoredCommand {
  seq: number;
  data: Uint8Array;
}

/** A short, bounded word for the metric label and the log line. */
export type RecordOutcome = string;

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
