import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { sharedRedisUrl, uniqueName } from '@mqft/test-support';

// On the machine's shared Redis, every test keeps to its own key prefix and cleans it up.
describe('Redis on the shared server', () => {
  const prefix = `${uniqueName('mqft_t')}:`;
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(sharedRedisUrl(), { lazyConnect: false, maxRetriesPerRequest: 2 });
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    await redis.quit();
  });

  it('round-trips a transfer hash and segment map under a unique prefix', async () => {
    const meta = `${prefix}ft:{k1}:meta`;
    const segs = `${prefix}ft:{k1}:segs`;
    await redis.hset(meta, { name: 'report.bin', size: '3' });
    await redis.hset(segs, '0', '17:65536:ab', '65536', '18:1024:cd');
    await redis.pexpire(meta, 60_000);

    expect(await redis.hgetall(meta)).toEqual({ name: 'report.bin', size: '3' });
    expect(await redis.hlen(segs)).toBe(2);
    expect(await redis.hget(segs, '65536')).toBe('18:1024:cd');
    expect(await redis.pttl(meta)).toBeGreaterThan(0);
    expect((await redis.keys(`${prefix}*`)).sort()).toEqual([meta, segs]);
  });
});
