import type { Command, CommandKind, ProtocolError } from '@mqft/protocol';
import type { ReplyTo, StreamCommand } from '@mqft/stream';

/** A command whose topic parsed and whose sender is known. */
export interface IncomingCommand<K extends CommandKind = CommandKind> {
  command: Extract<Command, { kind: K }>;
  payload: Uint8Array;
  /** The transfer key of (clientId, fileId). */
  key: string;
  reply: ReplyTo;
}

export interface HandlerLimits {
  maxFileSize: number;
  maxFilemetaBytes: number;
  maxFilemetaDepth: number;
  maxSegmentSize: number;
  /** The largest body one stream message of this transfer may carry. */
  maxPartBytes: number;
}

/** One message for the command stream. */
export interface StreamMessage {
  command: StreamCommand;
  body: Uint8Array;
}

/**
 * What ingest does with a command. `reject`: answer the device with the error now, store
 * nothing. `store`: publish the messages; once JetStream acknowledged ALL of them, answer
 * `success` if `answer` says so (segments), else leave the answer to the assembler.
 */
export type Plan =
  | { action: 'reject'; error: ProtocolError }
  | { action: 'store'; messages: StreamMessage[]; answer?: 'success' };

/** A handler decides; it does no I/O, so every decision is a plain function call in tests. */
export type Handler<K extends CommandKind> = (
  incoming: IncomingCommand<K>,
  limits: HandlerLimits,
) => Plan;
