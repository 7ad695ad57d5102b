import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostileHarness } from './harness.js';

// The harness itself: a quiet stack passes afterCase(), and afterCase() does fail when a bound
// is broken (else every hostile test's final check could never fail).
describe('hostile harness', () => {
  let h: HostileHarness;
  beforeAll(async () => {
    h = await HostileHarness.start();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a raw device gets its result on $file-response/{clientId}; afterCase passes', async () => {
    const d = await h.device();
    const r = await d.send('$file/h1/init', JSON.stringify({ name: 'h1.bin' }));
    expect(r).toMatchObject({ reason_code: 0, topic: '$file/h1/init' });
    expect(d.received[0]?.mqttTopic).toBe(`$file-response/${d.clientId}`);
    const m = await h.afterCase();
    expect(m.uploadMs).toBeLessThan(10_000);
  });

  it('afterCase fails when a bound is broken', async () => {
    await expect(h.afterCase({ redisKeys: 0 })).rejects.toThrow(/Redis keys/);
  });
});
