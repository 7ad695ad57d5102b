import { describe, expect, it } from 'vitest';
import {
  clampSegmentsTtl,
  DEFAULT_FIN_GRACE_MS,
  DEFAULT_MAX_ACTIVE_TRANSFERS,
  DEFAULT_MAX_FILE_SIZE_BYTES,
  DEFAULT_MAX_SEGMENT_PAYLOAD_BYTES,
  DEFAULT_SEGMENTS_TTL_SECONDS,
  MAX_SEGMENTS_TTL_SECONDS,
  MIN_SEGMENTS_TTL_SECONDS,
} from '../src/index.js';

describe('limits (docs/protocol.md "Limits")', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_MAX_SEGMENT_PAYLOAD_BYTES).toBe(16 * 1024 * 1024);
    expect(DEFAULT_MAX_FILE_SIZE_BYTES).toBe(64 * 1024 * 1024 * 1024);
    expect(DEFAULT_MAX_ACTIVE_TRANSFERS).toBe(16);
    expect(DEFAULT_SEGMENTS_TTL_SECONDS).toBe(86_400);
    expect(MIN_SEGMENTS_TTL_SECONDS).toBe(300);
    expect(MAX_SEGMENTS_TTL_SECONDS).toBe(604_800);
    expect(DEFAULT_FIN_GRACE_MS).toBe(30_000);
  });

  it.each([
    [0, 300],
    [299, 300],
    [300, 300],
    [3600, 3600],
    [3600.9, 3600],
    [604_800, 604_800],
    [604_801, 604_800],
    [Number.POSITIVE_INFINITY, 604_800],
    [-5, 300],
    [Number.NaN, 86_400],
  ])('clampSegmentsTtl(%s) = %s', (asked, expected) => {
    expect(clampSegmentsTtl(asked)).toBe(expected);
  });

  it('clamps to configured bounds', () => {
    const bounds = { minSeconds: 60, maxSeconds: 120 };
    expect(clampSegmentsTtl(10, bounds)).toBe(60);
    expect(clampSegmentsTtl(1000, bounds)).toBe(120);
    expect(clampSegmentsTtl(Number.NaN, bounds, 90)).toBe(90);
  });
});
