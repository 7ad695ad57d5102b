import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostileHarness } from './harness.js';

// Issue 14, case 10: a 64 KiB clientId made a ~150 KB log line (the clientId, its transfer key
// and the topic, each in full). Every service's log line stays small whatever a device sends.
const MAX_LINE_BYTES = 8 * 1024;

describe('hostile device: log lines stay bounded', () => {
  let h: HostileHarness;
  beforeAll(async () => {
    h = await HostileHarness.start({ env: { MQFT_LOG_LEVEL: 'debug' } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a 64 KiB clientId and long fileIds make no log line longer than 8 KiB', async () => {
    const d = await h.device();
    const huge = 'c'.repeat(65_000);
    // Claimed in the clientid user property (emqx layout): rejected, logged with the clientId.
    const bad = await d.send('$file/f1/what', '', { clientid: huge });
    expect(bad).toMatchObject({ reason_code: 0x83 });
    const ok = await d.send('$file/f2/init', JSON.stringify({ name: 'n.bin' }), {
      clientid: huge,
    });
    expect(ok.reason_code).toBeTypeOf('number');
    const longFileId = await d.send(`$file/${'f'.repeat(255)}/init`, '{"name":"x.bin"}');
    expect(longFileId).toMatchObject({ reason_code: 0 });
    await h.afterCase();
    const lines = (await Promise.all(h.services.map((s) => h.logs(s)))).flat();
    expect(
      lines.some((l) => l.includes('cccccccc')),
      'the clientId is logged',
    ).toBe(true);
    const longest = Math.max(...lines.map((l) => Buffer.byteLength(l)));
    console.log(`log-lines: longest log line ${longest} bytes`);
    expect(longest, 'the longest log line').toBeLessThan(MAX_LINE_BYTES);
  });
});
