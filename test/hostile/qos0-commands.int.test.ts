import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../e2e/device.js';
import { HostileHarness } from './harness.js';

// Issue 14, case 9: commands published at QoS 0 were silently ignored by ingest (it handled
// only QoS 1), so a device that used QoS 0 by mistake never learned why nothing happened.
// Now each is handled like QoS 1, minus the ack, and answered.
describe('hostile device: commands at QoS 0', () => {
  let h: HostileHarness;
  beforeAll(async () => {
    h = await HostileHarness.start();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('every command at QoS 0 gets its result; a whole upload at QoS 0 is stored', async () => {
    const d = await h.device();
    const qos0 = { qos: 0 as const, timeoutMs: 5_000 };
    expect(await d.send('$file/q0/init', JSON.stringify({ name: 'q0.bin' }), qos0)).toMatchObject({
      reason_code: 0,
    });
    const data = randomBytes(200_000);
    for (let offset = 0; offset < data.length; offset += 64 * 1024) {
      const segment = data.subarray(offset, offset + 64 * 1024);
      expect(await d.send(`$file/q0/${offset}`, segment, qos0)).toMatchObject({ reason_code: 0 });
    }
    const fin = await d.send(`$file/q0/fin/${data.length}/${sha256(data)}`, '', qos0);
    expect(fin).toMatchObject({ reason_code: 0 });
    expect(sha256(await readFile(fileURLToPath(fin.location as string)))).toBe(sha256(data));
    // A malformed one at QoS 0 is answered too, not dropped.
    expect(await d.send('$file/q0/what', '', qos0)).toMatchObject({ reason_code: 0x83 });
    await h.afterCase();
  });
});
