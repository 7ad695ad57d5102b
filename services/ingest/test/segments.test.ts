import { describe, expect, it } from 'vitest';
import { maxPartBytes, partHeaderMargin, splitSegment } from '../src/segments.js';

describe('splitSegment', () => {
  it('keeps a segment that fits as one part, without copying', () => {
    const payload = new Uint8Array(1000);
    const parts = splitSegment(payload, 4096, 1000);
    expect(parts).toHaveLength(1);
    expect(parts[0]?.offset).toBe(4096);
    expect(parts[0]?.body).toBe(payload);
  });

  it('splits into parts with their own offsets that cover the segment exactly', () => {
    const payload = Uint8Array.from({ length: 2500 }, (_, i) => i % 251);
    const parts = splitSegment(payload, 10_000, 1000);
    expect(parts.map((p) => [p.offset, p.body.byteLength])).toEqual([
      [10_000, 1000],
      [11_000, 1000],
      [12_000, 500],
    ]);
    expect(Buffer.concat(parts.map((p) => p.body))).toEqual(Buffer.from(payload));
  });

  it('makes one empty part of an empty segment', () => {
    expect(splitSegment(new Uint8Array(0), 7, 1000)).toEqual([
      { offset: 7, body: new Uint8Array(0) },
    ]);
  });

  it('refuses a part size that is not a positive integer', () => {
    expect(() => splitSegment(new Uint8Array(10), 0, 0)).toThrow(RangeError);
  });
});

describe('part sizes', () => {
  it('leave room for headers that carry the key twice', () => {
    const key = 'a'.repeat(300);
    expect(partHeaderMargin(key)).toBeGreaterThan(2 * key.length + 200);
    expect(maxPartBytes(1024 * 1024, key)).toBe(1024 * 1024 - partHeaderMargin(key));
  });

  it('refuse a max_payload too small to carry segments', () => {
    expect(() => maxPartBytes(2048, 'k'.repeat(100))).toThrow(/max_payload/);
  });
});
