/**
 * The four device commands, as parsed from (or formatted into) a topic. Payloads are not part
 * of a command: an init's payload is parsed by `parseFileMeta`, a segment's is carried as is.
 */

/** Where the device's identity lives: `emqx` (properties) or `scoped` (a topic level). */
export type Layout = 'emqx' | 'scoped';
export const LAYOUTS: readonly Layout[] = Object.freeze(['emqx', 'scoped']);

/** Both roots are handled the same: the broker, not mqft, sends the PUBACK. */
export type CommandRoot = '$file' | '$file-async';
export const COMMAND_ROOTS: readonly CommandRoot[] = Object.freeze(['$file', '$file-async']);

/** The root of result topics when the command carries no Response Topic. */
export const RESPONSE_TOPIC_ROOT = '$file-response';

// `clientId` is set from the topic in the scoped layout only; in the emqx layout the identity
// comes from the message's properties (see `resolveClientId`).
export type Command =
  | { kind: 'init'; root: CommandRoot; clientId?: string; fileId: string }
  | {
      kind: 'segment';
      root: CommandRoot;
      clientId?: string;
      fileId: string;
      offset: number;
      /** Lower-case hex SHA-256 of this segment's payload. */
      checksum?: string;
    }
  | {
      kind: 'fin';
      root: CommandRoot;
      clientId?: string;
      fileId: string;
      size: number;
      /** Lower-case hex SHA-256 of the whole file. */
      checksum?: string;
    }
  | { kind: 'abort'; root: CommandRoot; clientId?: string; fileId: string };

export type CommandKind = Command['kind'];

export function isLayout(value: string): value is Layout {
  return (LAYOUTS as readonly string[]).includes(value);
}

export function isCommandRoot(value: string | undefined): value is CommandRoot {
  return value !== undefined && (COMMAND_ROOTS as readonly string[]).includes(value);
}
