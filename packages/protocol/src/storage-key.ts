import { isPrintableCodePoint } from './printable.js';

const ALWAYS_ESCAPED = new Set(['%', ':', '\\', '/']);
const utf8 = new TextEncoder();

function percentEncode(char: string): string {
  let out = '';
  for (const byte of utf8.encode(char)) {
    out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * EMQX's escaping of one storage-key component: `%`, `:`, `\`, `/` and every non-printable
 * character are percent-encoded per UTF-8 byte (uppercase hex); `.` and `..` become
 * `%2E` and `%2E%2E` so that no component can name a directory of its own or its parent.
 */
export function escapeKeyComponent(value: string): string {
  if (value === '.') return '%2E';
  if (value === '..') return '%2E%2E';
  let out = '';
  for (const char of value) {
    const cp = char.codePointAt(0) ?? 0;
    out += ALWAYS_ESCAPED.has(char) || !isPrintableCodePoint(cp) ? percentEncode(char) : char;
  }
  return out;
}

/**
 * The object key of a stored file, relative to the storage prefix:
 * `<esc(clientId)>/<esc(fileId)>/<name>`. `name` was validated by init (no separators,
 * not `.`/`..`, printable), so it is used as sent.
 */
export function storageRelativeKey(clientId: string, fileId: string, name: string): string {
  return `${escapeKeyComponent(clientId)}/${escapeKeyComponent(fileId)}/${name}`;
}

/** The same key under a prefix (`''` for none); the prefix never gains or loses slashes. */
export function storageKey(prefix: string, clientId: string, fileId: string, name: string): string {
  const relative = storageRelativeKey(clientId, fileId, name);
  if (prefix === '') return relative;
  return `${prefix.replace(/\/+$/, '')}/${relative}`;
}
