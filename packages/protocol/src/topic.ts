import { isCommandRoot, type Command, type CommandRoot, type Layout } from './command.js';
import { isSha256Hex } from './checksum.js';
import { isTopicNumber, parseDecimalLevel } from './decimal.js';
import { ProtocolError } from './errors.js';
import { fileIdProblem, topicClientIdProblem } from './identifiers.js';
import type { ReasonDescription } from './reason-codes.js';

export type ParsedTopic =
  | { ok: true; command: Command; deviceTopic: string }
  | { ok: false; error: ProtocolError; deviceTopic: string; fileId?: string; clientId?: string };

type Failure = Extract<ParsedTopic, { ok: false }>;
/** What is known of the sender when parsing fails, so the error can still be answered. */
type Whereabouts = Omit<Failure, 'ok' | 'error'>;
type Identity = { root: CommandRoot; clientId?: string; fileId: string };

// A purely alphabetic level where a command keyword or an offset belongs was meant as a
// keyword (`inti`, `FIN`, `undefined`); anything else there was meant as an offset.
const KEYWORD_LIKE = /^[A-Za-z]+$/;

function failure(where: Whereabouts, reason: ReasonDescription, message: string): Failure {
  return { ok: false, error: new ProtocolError(reason, message), ...where };
}

/**
 * Parses a command topic as ingest receives it. `prefix` (the loopback bridge's remote prefix,
 * e.g. `mqft/in/`) is stripped literally first; `deviceTopic` is what the device published,
 * the topic its result names. Never throws: every malformed topic yields a ProtocolError, with
 * the fileId and clientId when they were readable, so the device can still be answered.
 */
export function parseTopic(
  topic: string,
  options: { layout: Layout; prefix?: string },
): ParsedTopic {
  const prefix = options.prefix ?? '';
  if (!topic.startsWith(prefix)) {
    return failure({ deviceTopic: topic }, 'invalid_file_command', `topic is not under ${prefix}`);
  }
  const deviceTopic = topic.slice(prefix.length);
  const [root, ...levels] = deviceTopic.split('/');
  if (!isCommandRoot(root)) {
    return failure({ deviceTopic }, 'invalid_file_command', 'root is not $file or $file-async');
  }
  const scoped = options.layout === 'scoped';
  const idLevels = scoped ? 2 : 1;
  const clientId = scoped ? levels[0] : undefined;
  const fileId = levels[idLevels - 1];
  const clientIdError = clientId === undefined ? undefined : topicClientIdProblem(clientId);
  const fileIdError = fileId === undefined ? undefined : fileIdProblem(fileId);
  const where: Whereabouts = { deviceTopic };
  if (clientId !== undefined && clientIdError === undefined) where.clientId = clientId;
  if (fileId !== undefined && fileIdError === undefined) where.fileId = fileId;

  const commandLevels = levels.slice(idLevels);
  if (fileId === undefined || commandLevels.length < 1 || commandLevels.length > 3) {
    const expected = `${idLevels + 2} to ${idLevels + 4}`;
    const message = `expected ${expected} topic levels, got ${levels.length + 1}`;
    return failure(where, 'invalid_file_command', message);
  }
  if (clientIdError !== undefined) return failure(where, 'not_authorized', clientIdError);
  if (fileIdError !== undefined) return failure(where, 'invalid_fileid', fileIdError);

  const identity: Identity = { root, fileId };
  if (clientId !== undefined) identity.clientId = clientId;
  const command = commandFromLevels(identity, commandLevels);
  if (command instanceof ProtocolError) return { ok: false, error: command, ...where };
  return { ok: true, command, deviceTopic };
}

/** The levels after the fileId: `init`, `abort`, `fin/{size}[/{checksum}]`, `{offset}[/…]`. */
function commandFromLevels(identity: Identity, levels: string[]): Command | ProtocolError {
  const [keyword = '', ...args] = levels;
  if (keyword === 'init' || keyword === 'abort') {
    if (args.length > 0) {
      return new ProtocolError('invalid_file_command', `${keyword} takes no further levels`);
    }
    return { kind: keyword, ...identity };
  }
  if (keyword === 'fin') return finFromLevels(identity, args);
  if (KEYWORD_LIKE.test(keyword)) {
    return new ProtocolError('invalid_file_command', `unknown command ${keyword}`);
  }
  return segmentFromLevels(identity, levels);
}

function finFromLevels(identity: Identity, args: string[]): Command | ProtocolError {
  const [sizeLevel, checksumLevel] = args;
  if (sizeLevel === undefined) return new ProtocolError('invalid_size', 'fin without a size');
  const size = parseDecimalLevel(sizeLevel);
  if (size === undefined) {
    return new ProtocolError('invalid_size', 'size is not decimal digits below 2^53');
  }
  if (checksumLevel === undefined) return { kind: 'fin', ...identity, size };
  if (!isSha256Hex(checksumLevel)) {
    return new ProtocolError('invalid_checksum', 'checksum is not 64 hex digits');
  }
  return { kind: 'fin', ...identity, size, checksum: checksumLevel.toLowerCase() };
}

function segmentFromLevels(identity: Identity, levels: string[]): Command | ProtocolError {
  const [offsetLevel = '', checksumLevel, ...extra] = levels;
  if (extra.length > 0) {
    return new ProtocolError('invalid_file_command', 'a segment has at most offset and checksum');
  }
  const offset = parseDecimalLevel(offsetLevel);
  if (offset === undefined) {
    return new ProtocolError('invalid_offset', 'offset is not decimal digits below 2^53');
  }
  if (checksumLevel === undefined) return { kind: 'segment', ...identity, offset };
  if (!isSha256Hex(checksumLevel)) {
    return new ProtocolError('invalid_checksum', 'checksum is not 64 hex digits');
  }
  return { kind: 'segment', ...identity, offset, checksum: checksumLevel.toLowerCase() };
}

/**
 * The topic a device publishes a command on (the inverse of {@link parseTopic}, without a
 * prefix: devices never see it). Throws a ProtocolError, with the reason parsing would give,
 * for a command no topic can carry; the scoped layout needs `clientId`, the emqx layout
 * ignores it (there the identity travels in the message's properties).
 */
export function formatTopic(command: Command, layout: Layout): string {
  return [...identityLevels(command, layout), ...levelsAfterFileId(command)].join('/');
}

function levelsAfterFileId(command: Command): string[] {
  switch (command.kind) {
    case 'init':
    case 'abort':
      return [command.kind];
    case 'segment':
      if (!isTopicNumber(command.offset)) {
        throw new ProtocolError('invalid_offset', `offset ${command.offset} is not in 0..2^53-1`);
      }
      return [String(command.offset), ...checksumLevel(command.checksum)];
    case 'fin':
      if (!isTopicNumber(command.size)) {
        throw new ProtocolError('invalid_size', `size ${command.size} is not in 0..2^53-1`);
      }
      return ['fin', String(command.size), ...checksumLevel(command.checksum)];
  }
}

function identityLevels(command: Command, layout: Layout): string[] {
  if (!isCommandRoot(command.root)) {
    throw new ProtocolError('invalid_file_command', 'root is not $file or $file-async');
  }
  const fileIdError = fileIdProblem(command.fileId);
  if (fileIdError !== undefined) throw new ProtocolError('invalid_fileid', fileIdError);
  if (layout === 'emqx') return [command.root, command.fileId];
  if (command.clientId === undefined) {
    throw new ProtocolError('not_authorized', 'the scoped layout needs a clientId');
  }
  const clientIdError = topicClientIdProblem(command.clientId);
  if (clientIdError !== undefined) throw new ProtocolError('not_authorized', clientIdError);
  return [command.root, command.clientId, command.fileId];
}

function checksumLevel(checksum: string | undefined): string[] {
  if (checksum === undefined) return [];
  if (!isSha256Hex(checksum)) {
    throw new ProtocolError('invalid_checksum', 'checksum is not 64 hex digits');
  }
  return [checksum.toLowerCase()];
}
