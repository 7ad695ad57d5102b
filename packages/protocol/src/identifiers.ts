import { MAX_CLIENT_ID_BYTES, MAX_FILE_ID_BYTES } from './limits.js';

/**
 * Rules for the two halves of a transfer's identity. Each check returns a human reason when the
 * value is unusable, else undefined, so that topic parsing, identity resolution and topic
 * formatting share one definition and only choose the reason code.
 */

export function utf8ByteLength(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/**
 * A lone UTF-16 surrogate cannot be encoded as UTF-8: such a string never came off the wire
 * and would not survive a round trip through a transfer key or a storage key.
 */
export function hasLoneSurrogate(value: string): boolean {
  return /\p{Cs}/u.test(value);
}

// MQTT forbids U+0000 and the wildcards in topic names.
const NOT_IN_TOPIC_NAME = ['+', '#', '\u0000'];

/** Whether `value` may appear in a topic name a client publishes to (it may contain `/`). */
export function fitsTopicName(value: string): boolean {
  return !NOT_IN_TOPIC_NAME.some((char) => value.includes(char)) && !hasLoneSurrogate(value);
}

function fitsOneTopicLevel(value: string): boolean {
  return fitsTopicName(value) && !value.includes('/');
}

/** A fileId: one non-empty topic level of at most 255 UTF-8 bytes. */
export function fileIdProblem(fileId: string): string | undefined {
  if (fileId === '') return 'fileId is empty';
  const bytes = utf8ByteLength(fileId);
  if (bytes > MAX_FILE_ID_BYTES) {
    return `fileId is ${bytes} UTF-8 bytes, more than ${MAX_FILE_ID_BYTES}`;
  }
  if (hasLoneSurrogate(fileId)) return 'fileId is not valid Unicode';
  if (!fitsOneTopicLevel(fileId)) return 'fileId contains `/`, `+`, `#` or U+0000';
  return undefined;
}

/**
 * A clientId, however the device told it: non-empty (a broker assigns ids to clients that
 * send none, so an empty one was never a real client's), at most 65535 UTF-8 bytes (MQTT's
 * limit), without U+0000 (reserved for the anonymous namespace, so no device can claim it).
 */
export function clientIdProblem(clientId: string): string | undefined {
  if (clientId === '') return 'clientId is empty';
  const bytes = utf8ByteLength(clientId);
  if (bytes > MAX_CLIENT_ID_BYTES) {
    return `clientId is ${bytes} UTF-8 bytes, more than ${MAX_CLIENT_ID_BYTES}`;
  }
  if (clientId.includes('\u0000')) return 'clientId contains U+0000';
  if (hasLoneSurrogate(clientId)) return 'clientId is not valid Unicode';
  return undefined;
}

/** A clientId that also fits in one topic level: the scoped layout's clientId level. */
export function topicClientIdProblem(clientId: string): string | undefined {
  const problem = clientIdProblem(clientId);
  if (problem !== undefined) return problem;
  if (!fitsOneTopicLevel(clientId)) return 'clientId contains `/`, `+` or `#`';
  return undefined;
}
