import { headers, type MsgHdrs } from '@nats-io/transport-node';

/** What ingest stores of each device command; the payload travels as the message body. */
export type StreamCommandKind = 'init' | 'seg' | 'fin' | 'abort';

/** Where the result of a command goes (docs/protocol.md "Results"). */
export interface ReplyTo {
  /** The command topic as the device sent it (echoed in the result's `topic`). */
  deviceTopic: string;
  /** The Response Topic to publish the result on, if one is known. */
  responseTopic?: string;
  /** The command's MQTT 5 Correlation Data, echoed. */
  correlation?: Uint8Array;
}

export interface StreamCommand {
  kind: StreamCommandKind;
  /** The transfer key (subject token). */
  key: string;
  /** seg: byte offset of this message's payload (after any split). */
  offset?: number;
  /** fin: the file size. */
  size?: number;
  /** fin: the whole-file SHA-256 (lowercase hex), when the device gave one. */
  checksum?: string;
  /**
   * Where the assembler answers: init, fin, abort; and seg, which ingest answers once durable,
   * when the transfer failed (a segment past MQFT_MAX_SEGMENTS_PER_TRANSFER).
   */
  reply?: ReplyTo;
  /**
   * init: the filemeta JSON, also the message body. Carried in a header too because the
   * assemblers' consumer delivers headers only (docs/design.md "Throughput facts").
   */
  filemeta?: Uint8Array;
}

const H = {
  kind: 'Mqft-Kind',
  key: 'Mqft-Key',
  offset: 'Mqft-Offset',
  size: 'Mqft-Size',
  checksum: 'Mqft-Checksum',
  reply: 'Mqft-Reply',
  filemeta: 'Mqft-Filemeta',
} as const;

/** What nats-server adds to a message a headers-only consumer delivers: its body's length. */
const MSG_SIZE = 'Nats-Msg-Size';

const KINDS: readonly StreamCommandKind[] = ['init', 'seg', 'fin', 'abort'];

/**
 * Headers carry only ASCII: the reply (device topics are arbitrary UTF-8 and may even hold
 * CR/LF) is JSON in base64url.
 */
export function encodeCommandHeaders(command: StreamCommand, msgId?: string): MsgHdrs {
  const h = headers();
  h.set(H.kind, command.kind);
  h.set(H.key, command.key);
  if (command.offset !== undefined) h.set(H.offset, String(command.offset));
  if (command.size !== undefined) h.set(H.size, String(command.size));
  if (command.checksum !== undefined) h.set(H.checksum, command.checksum);
  if (command.reply !== undefined) h.set(H.reply, encodeReply(command.reply));
  if (command.filemeta !== undefined)
    h.set(H.filemeta, Buffer.from(command.filemeta).toString('base64url'));
  if (msgId !== undefined) h.set('Nats-Msg-Id', msgId);
  return h;
}

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

/** Reads a stored command; throws EnvelopeError for anything ingest would not have written. */
export function decodeCommandHeaders(h: MsgHdrs | undefined): StreamCommand {
  if (!h) throw new EnvelopeError('message has no headers');
  const kind = h.get(H.kind) as StreamCommandKind;
  if (!KINDS.includes(kind)) throw new EnvelopeError(`unknown kind ${JSON.stringify(kind)}`);
  const key = h.get(H.key);
  if (!key) throw new EnvelopeError('no transfer key');
  const command: StreamCommand = { kind, key };
  const offset = readNumber(h, H.offset);
  const size = readNumber(h, H.size);
  if (offset !== undefined) command.offset = offset;
  if (size !== undefined) command.size = size;
  if (h.has(H.checksum)) command.checksum = h.get(H.checksum);
  if (h.has(H.reply)) command.reply = decodeReply(h.get(H.reply));
  if (h.has(H.filemeta)) command.filemeta = Buffer.from(h.get(H.filemeta), 'base64url');
  if (kind === 'seg' && offset === undefined) throw new EnvelopeError('segment without offset');
  if (kind === 'fin' && size === undefined) throw new EnvelopeError('fin without size');
  return command;
}

/**
 * The length of a delivered message's body: nats-server's Nats-Msg-Size when the consumer
 * delivers headers only (the body is then empty), else the body's own length.
 */
export function storedBodySize(h: MsgHdrs | undefined, body: Uint8Array): number {
  if (!h || carriesBody(h)) return body.length;
  return readNumber(h, MSG_SIZE) ?? body.length;
}

/** Whether a delivery carries the message's body (not a headers-only consumer's). */
export function carriesBody(h: MsgHdrs | undefined): boolean {
  return !h?.has(MSG_SIZE);
}

function readNumber(h: MsgHdrs, name: string): number | undefined {
  if (!h.has(name)) return undefined;
  const value = Number(h.get(name));
  if (!Number.isSafeInteger(value) || value < 0) throw new EnvelopeError(`bad ${name}`);
  return value;
}

/**
 * Encoded replies by object: ingest measures a segment's reply (the room it takes from each
 * part) and then every part's headers carry it, all from one ReplyTo; each is encoded once.
 */
const encodedReplies = new WeakMap<ReplyTo, string>();

export function encodeReply(reply: ReplyTo): string {
  let encoded = encodedReplies.get(reply);
  if (encoded === undefined) {
    encoded = encodeReplyNow(reply);
    encodedReplies.set(reply, encoded);
  }
  return encoded;
}

function encodeReplyNow(reply: ReplyTo): string {
  const json = {
    t: reply.deviceTopic,
    r: reply.responseTopic,
    c: reply.correlation ? Buffer.from(reply.correlation).toString('base64') : undefined,
  };
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

export function decodeReply(text: string): ReplyTo {
  try {
    const json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as {
      t: string;
      r?: string;
      c?: string;
    };
    if (typeof json.t !== 'string') throw new Error('no topic');
    const reply: ReplyTo = { deviceTopic: json.t };
    if (typeof json.r === 'string') reply.responseTopic = json.r;
    if (typeof json.c === 'string') reply.correlation = Buffer.from(json.c, 'base64');
    return reply;
  } catch (err) {
    throw new EnvelopeError(`bad reply header: ${(err as Error).message}`);
  }
}
