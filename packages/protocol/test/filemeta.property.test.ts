import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalFileMeta,
  isPrintableCodePoint,
  parseFileMeta,
  ProtocolError,
  type FileMeta,
} from '../src/index.js';
import { anyUnicodeString, hex64 } from './arbitraries.js';

const encoder = new TextEncoder();

function outcome(payload: Uint8Array): FileMeta | ProtocolError {
  try {
    return parseFileMeta(payload);
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error; // anything else fails the property
  }
}

const validName = anyUnicodeString(40).filter((name) => {
  const chars = [...name];
  return (
    chars.length > 0 &&
    Buffer.byteLength(name) <= 240 &&
    name !== '.' &&
    name !== '..' &&
    chars.every((c) => isPrintableCodePoint(c.codePointAt(0) ?? 0) && !'/\\:'.includes(c))
  );
});

const validMeta: fc.Arbitrary<FileMeta> = fc.record(
  {
    name: validName,
    size: fc.nat({ max: 64 * 1024 ** 3 }),
    checksum: hex64.map((h) => h.toLowerCase()),
    expire_at: fc.maxSafeNat(),
    segments_ttl: fc.maxSafeNat(),
    user_data: fc
      .jsonValue({ maxDepth: 3 })
      .filter((v) => Buffer.byteLength(JSON.stringify(v)) <= 4096),
  },
  { requiredKeys: ['name'] },
);

describe('parseFileMeta on any input', () => {
  it('throws nothing but ProtocolError for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (payload) => {
        outcome(payload);
      }),
      { numRuns: 1000 },
    );
  });

  it('throws nothing but ProtocolError for any JSON', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (json) => {
        outcome(encoder.encode(json));
      }),
      { numRuns: 1000 },
    );
  });

  it('throws nothing but ProtocolError for objects with the known fields, of any type', () => {
    const anyValue = fc.jsonValue({ maxDepth: 2 });
    const fields = fc.record(
      {
        name: fc.oneof(anyUnicodeString(10), anyValue),
        size: anyValue,
        checksum: fc.oneof(hex64, anyValue),
        expire_at: anyValue,
        segments_ttl: anyValue,
        user_data: anyValue,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fields, (object) => {
        outcome(encoder.encode(JSON.stringify(object)));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseFileMeta on valid metadata', () => {
  it('gives the metadata back, and its canonical form ignores key order', () => {
    fc.assert(
      fc.property(validMeta, (expected) => {
        const parsed = parseFileMeta(encoder.encode(JSON.stringify(expected)));
        expect(canonicalFileMeta(parsed)).toBe(canonicalFileMeta(expected));
        const reversed = Object.fromEntries(Object.entries(expected).reverse());
        const again = parseFileMeta(encoder.encode(JSON.stringify(reversed)));
        expect(canonicalFileMeta(again)).toBe(canonicalFileMeta(parsed));
      }),
    );
  });
});
