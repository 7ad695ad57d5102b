import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ANONYMOUS_CLIENT_ID,
  escapeKeyComponent,
  isPrintableCodePoint,
  storageKey,
  storageRelativeKey,
} from '../src/index.js';
import { anyUnicodeString, anyUtf16String } from './arbitraries.js';

describe('escapeKeyComponent (EMQX escaping)', () => {
  it.each([
    ['.', '%2E'],
    ['..', '%2E%2E'],
    ['...', '...'],
    ['a.b', 'a.b'],
    ['a/b', 'a%2Fb'],
    ['%', '%25'],
    ['146%', '146%25'],
    ['a:b', 'a%3Ab'],
    ['a\\b', 'a%5Cb'],
    ['\u0000', '%00'],
    ['\u001f', '%1F'],
    ['\u007f', '%7F'],
    ['\u0085', '%C2%85'],
    ['\ufffe', '%EF%BF%BE'],
    ['中文', '中文'],
    ['🌚', '🌚'],
    ['; rm -rf ;', '; rm -rf ;'],
    ['a b', 'a b'],
    ['', ''],
  ])('%j → %s', (value, escaped) => {
    expect(escapeKeyComponent(value)).toBe(escaped);
  });

  it('stores the anonymous namespace under %00', () => {
    expect(escapeKeyComponent(ANONYMOUS_CLIENT_ID)).toBe('%00');
  });
});

describe('storage keys', () => {
  it('joins the escaped clientId and fileId with the name as sent', () => {
    expect(storageRelativeKey('dev/1', '..', '146%.txt')).toBe('dev%2F1/%2E%2E/146%.txt');
    expect(storageRelativeKey(ANONYMOUS_CLIENT_ID, '🌚', '中文.txt')).toBe('%00/🌚/中文.txt');
  });

  it.each([
    ['', 'd/f/n'],
    ['files', 'files/d/f/n'],
    ['files/', 'files/d/f/n'],
    ['a/b//', 'a/b/d/f/n'],
  ])('under prefix %j', (prefix, key) => {
    expect(storageKey(prefix, 'd', 'f', 'n')).toBe(key);
  });
});

// Decodes EMQX escaping: percent-decoding the UTF-8 bytes, except the two dot forms.
function unescapeKeyComponent(escaped: string): string {
  if (escaped === '%2E') return '.';
  if (escaped === '%2E%2E') return '..';
  return decodeURIComponent(escaped);
}

describe('escapeKeyComponent, property', () => {
  const anyString = fc.oneof(anyUnicodeString(30), fc.constantFrom('.', '..', '%2E'));

  it('never yields a separator, a dot component or a non-printable character', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, anyUtf16String(30)), (value) => {
        const escaped = escapeKeyComponent(value);
        expect(escaped).not.toContain('/');
        expect(escaped).not.toContain('\\');
        expect(escaped).not.toContain(':');
        expect(escaped).not.toBe('.');
        expect(escaped).not.toBe('..');
        for (const char of escaped)
          expect(isPrintableCodePoint(char.codePointAt(0) ?? 0)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('is reversible for well-formed strings', () => {
    fc.assert(
      fc.property(anyString, (value) => {
        expect(unescapeKeyComponent(escapeKeyComponent(value))).toBe(value);
      }),
      { numRuns: 1000 },
    );
  });
});
