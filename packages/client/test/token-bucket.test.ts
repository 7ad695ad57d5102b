import { describe, expect, it } from 'vitest';
import { TokenBucket, sleep } from '../src/token-bucket.js';

describe('TokenBucket', () => {
  it('starts empty and spaces reservations amount/rate apart', () => {
    let now = 0;
    const bucket = new TokenBucket(1000, 1000, () => now);
    expect(bucket.reserve(100)).toBeCloseTo(100);
    expect(bucket.reserve(100)).toBeCloseTo(200);
    now = 200;
    expect(bucket.reserve(100)).toBeCloseTo(100);
  });

  it('saves up to its capacity while idle, never more', () => {
    let now = 0;
    const bucket = new TokenBucket(1000, 500, () => now);
    now = 10_000;
    expect(bucket.reserve(500)).toBe(0);
    expect(bucket.reserve(100)).toBeCloseTo(100);
  });

  it('lets a reservation larger than the bucket through once its debt is paid', () => {
    let now = 0;
    const bucket = new TokenBucket(100, 10, () => now);
    expect(bucket.reserve(1000)).toBeCloseTo(10_000);
    now = 10_000;
    expect(bucket.reserve(10)).toBeCloseTo(100);
  });

  it('keeps the long-run rate exact', () => {
    let now = 0;
    const bucket = new TokenBucket(64 * 1024, 64 * 1024, () => now);
    for (let i = 0; i < 100; i++) now += bucket.reserve(16 * 1024);
    expect(now).toBeCloseTo((100 * 16 * 1024 * 1000) / (64 * 1024));
  });

  it('rejects a bad rate, and sleep() follows its AbortSignal', async () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError);
    const controller = new AbortController();
    const slept = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(slept).rejects.toThrow('stop');
  });
});
