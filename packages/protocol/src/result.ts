import { COMMAND_ROOTS, RESPONSE_TOPIC_ROOT } from './command.js';
import type { ProtocolError } from './errors.js';
import { clientIdProblem, fitsTopicName } from './identifiers.js';
import { reasonCodeOf, type ReasonDescription } from './reason-codes.js';

/** Version of the result document, as in the specification. */
export const RESULT_VSN = '0.1';

/**
 * The answer to one command (docs/protocol.md "Results"). `packet_id` is left out on purpose:
 * subscribers never see the device's packet id.
 */
export interface ResultMessage {
  vsn: '0.1';
  /** The command topic exactly as the device sent it (without any bridge prefix). */
  topic: string;
  reason_code: number;
  reason_description: string;
  /** Half-open byte ranges `[start, end)` still missing, on an incomplete fin. */
  missing?: [number, number][];
  /** Where the file landed, on a successful fin. */
  location?: string;
}

export interface ResultInput {
  deviceTopic: string;
  reason: ReasonDescription;
  missing?: [number, number][];
  location?: string;
}

export function buildResult(input: ResultInput): ResultMessage {
  const result: ResultMessage = {
    vsn: RESULT_VSN,
    topic: input.deviceTopic,
    reason_code: reasonCodeOf(input.reason),
    reason_description: input.reason,
  };
  if (input.missing !== undefined) result.missing = input.missing.map(([s, e]) => [s, e]);
  if (input.location !== undefined) result.location = input.location;
  return result;
}

/** The result for a command that failed with `error`. */
export function buildErrorResult(deviceTopic: string, error: ProtocolError): ResultMessage {
  return buildResult({ deviceTopic, reason: error.reason });
}

/** The MQTT payload: UTF-8 JSON. */
export function encodeResult(result: ResultMessage): Buffer {
  return Buffer.from(JSON.stringify(result), 'utf8');
}

/**
 * Where a command's result goes: its own Response Topic if it had one, else
 * `$file-response/{clientId}` when the sender is known and its clientId can be part of a topic
 * (`/` may be: brokers that allow it in clientIds expand ACL patterns with it too).
 * Undefined when nobody can be answered (anonymous senders ask the gRPC API instead).
 * A Response Topic under a command root (`$file/…`, `$file-async/…`) is never used: mqft would
 * publish a command there on the device's behalf (an abort of another device's transfer).
 */
export function responseTopicFor(input: {
  responseTopic?: string;
  clientId?: string;
  anonymous?: boolean;
}): string | undefined {
  const asked = input.responseTopic;
  if (asked !== undefined && asked !== '' && !isCommandTopic(asked)) return asked;
  if (input.anonymous === true || input.clientId === undefined) return undefined;
  const clientId = input.clientId;
  if (clientIdProblem(clientId) !== undefined || !fitsTopicName(clientId)) return undefined;
  return `${RESPONSE_TOPIC_ROOT}/${clientId}`;
}

/** Whether `topic` is a command topic (`$file`, `$file-async` or anything under them). */
export function isCommandTopic(topic: string): boolean {
  return COMMAND_ROOTS.some((root) => topic === root || topic.startsWith(`${root}/`));
}
