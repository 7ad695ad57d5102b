import { describe, expect, it } from 'vitest';
import { isSha256Hex, sha256Hex, verifySegmentChecksum } from '../src/index.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const abc = new TextEncoder().encode('abc');

describe('checksums', () => {
  it('hashes with SHA-256 in lower-case hex', () => {
    expect(sha256Hex(new Uint8Array())).toBe(EMPTY_SHA256);
    expect(sha256Hex(abc)).toBe(ABC_SHA256);
    expect(sha256Hex(Buffer.from('abc'))).toBe(ABC_SHA256);
  });

  it('verifies a segment in either case', () => {
    expect(verifySegmentChecksum(abc, ABC_SHA256)).toBe(true);
    expect(verifySegmentChecksum(abc, ABC_SHA256.toUpperCase())).toBe(true);
    expect(verifySegmentChecksum(abc, EMPTY_SHA256)).toBe(false);
  });

  it('never matches a malformed digest', () => {
    expect(verifySegmentChecksum(abc, ABC_SHA256.slice(1))).toBe(false);
    expect(verifySegmentChecksum(abc, `${ABC_SHA256} `)).toBe(false);
    expect(verifySegmentChecksum(abc, '')).toBe(false);
  });

  it.each([
    ['a'.repeat(63), false],
    ['a'.repeat(64), true],
    ['a'.repeat(65), false],
    ['A'.repeat(64), true],
    ['g'.repeat(64), false],
  ])('isSha256Hex(%s) is %s', (value, expected) => {
    expect(isSha256Hex(value)).toBe(expected);
  });
});
