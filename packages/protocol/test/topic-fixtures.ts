import { expect } from 'vitest';
import { parseTopic, ProtocolError, type Command, type Layout } from '../src/index.js';

export const HEX = '0123456789abcdef'.repeat(4);
export const HEX_UPPER = HEX.toUpperCase();
export const FILE_ID_255 = 'a'.repeat(255);
export const FILE_ID_256 = 'a'.repeat(256);
// 63 moons (4 bytes each) and three ASCII letters: 255 bytes in 66 characters.
export const FILE_ID_255_MULTIBYTE = '🌚'.repeat(63) + 'abc';

/** The command a topic must parse to. */
export function parsed(topic: string, layout: Layout = 'emqx', prefix?: string): Command {
  const result = parseTopic(topic, prefix === undefined ? { layout } : { layout, prefix });
  if (!result.ok) throw new Error(`expected ${topic} to parse, got ${result.error.message}`);
  return result.command;
}

/** The failure a topic must parse to. */
export function failed(topic: string, layout: Layout = 'emqx', prefix?: string) {
  const result = parseTopic(topic, prefix === undefined ? { layout } : { layout, prefix });
  if (result.ok) throw new Error(`expected ${topic} to fail, got ${JSON.stringify(result)}`);
  expect(result.error).toBeInstanceOf(ProtocolError);
  return result;
}
