import {
  ProtocolError,
  parseTopic,
  resolveClientId,
  transferKey,
  type Command,
  type Layout,
} from '@mqft/protocol';
import type { ReplyTo } from '@mqft/stream';

/** The MQTT 5 properties ingest reads, as MQTT.js hands them over. */
export interface CommandProperties {
  userProperties?: Record<string, string | string[]>;
  responseTopic?: string;
  correlationData?: Uint8Array;
}

/**
 * Keys become NATS subjects, and nats-server refuses a control line over 4 KiB (by default)
 * by dropping the whole connection. A fileId is at most 255 bytes (340 key characters), so
 * this bounds the clientId to roughly 500 bytes.
 */
export const MAX_KEY_LENGTH = 1024;

interface Sender {
  deviceTopic: string;
  reply: ReplyTo;
  /** Who to answer: resolved where possible, so even a broken command gets its result. */
  clientId: string;
  anonymous: boolean;
  fileId?: string;
  key?: string;
}

export type DecodedMessage =
  | (Sender & { ok: true; command: Command; key: string; fileId: string })
  | (Sender & { ok: false; error: ProtocolError; kind?: Command['kind'] });

export interface DecodeOptions {
  layout: Layout;
  /** MQFT_MQTT_TOPIC_PREFIX: stripped before parsing. */
  prefix: string;
}

/** Topic and properties of one MQTT message → a command and its sender, or why not. */
export function decodeMessage(
  topic: string,
  properties: CommandProperties | undefined,
  options: DecodeOptions,
): DecodedMessage {
  const parsed = parseTopic(topic, { layout: options.layout, prefix: options.prefix });
  const reply: ReplyTo = { deviceTopic: parsed.deviceTopic };
  // Never answer into ingest's own input (the bridge's prefix): that would be a command too.
  // (Command roots are refused later, by responseTopicFor, for every publisher of results.)
  const responseTopic = properties?.responseTopic;
  if (
    responseTopic !== undefined &&
    !(options.prefix !== '' && responseTopic.startsWith(options.prefix))
  )
    reply.responseTopic = responseTopic;
  if (properties?.correlationData !== undefined) reply.correlation = properties.correlationData;
  const topicClientId = parsed.ok ? parsed.command.clientId : parsed.clientId;
  const identity = resolveClientId({
    layout: options.layout,
    ...(topicClientId !== undefined && { topicClientId }),
    ...(properties?.userProperties !== undefined && { userProperties: properties.userProperties }),
    ...(properties?.responseTopic !== undefined && { responseTopic: properties.responseTopic }),
  });
  // A scoped topic's clientId passed the broker's ACL: it can be answered even when the
  // properties contradict it.
  const answerable = identity.ok
    ? { clientId: identity.clientId, anonymous: identity.anonymous }
    : { clientId: topicClientId ?? '', anonymous: topicClientId === undefined };
  const sender: Sender = { deviceTopic: parsed.deviceTopic, reply, ...answerable };
  const fileId = parsed.ok ? parsed.command.fileId : parsed.fileId;
  if (fileId !== undefined) sender.fileId = fileId;
  if (identity.ok && fileId !== undefined)
    sender.key = transferKey({ clientId: identity.clientId, fileId });

  if (!parsed.ok) return { ...sender, ok: false, error: parsed.error };
  const kind = parsed.command.kind;
  if (!identity.ok) return { ...sender, ok: false, error: identity.error, kind };
  const key =
    sender.key ?? transferKey({ clientId: identity.clientId, fileId: parsed.command.fileId });
  if (key.length > MAX_KEY_LENGTH) {
    const why = `clientId and fileId make a ${key.length}-character key, more than ${MAX_KEY_LENGTH}`;
    return { ...sender, ok: false, error: new ProtocolError('not_authorized', why), kind };
  }
  return { ...sender, ok: true, command: parsed.command, key, fileId: parsed.command.fileId };
}
