import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@mqft/test-support';
import { HostileHarness, type RawDevice } from './harness.js';

const CAP = 1_000;

// Issue 14, case 3: nothing capped segments per transfer (~10^6 one-byte segments made every
// assembler that took the lease run out of memory in planning), and 20,000 one-byte segments
// with gaps produced a 269 KB result past what a broker delivers. Now the segment at a new
// offset past MQFT_MAX_SEGMENTS_PER_TRANSFER fails the transfer, answered at once; planning
// pages through Redis; a result lists at most the first 1,000 missing ranges.
describe('hostile device: tiny segments', () => {
  let h: HostileHarness;
  let redis: Redis;
  beforeAll(async () => {
    h = await HostileHarness.start({
      env: { MQFT_MAX_SEGMENTS_PER_TRANSFER: String(CAP) },
      bounds: { assemblerRssBytes: 200 * 1024 * 1024 },
    });
    redis = new Redis(h.stack.env.MQFT_REDIS_URL ?? 'redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.stop();
  });

  /** Publishes one-byte segments at `offsets` (QoS 1, all at once) and waits for ingest's answers. */
  const publishSegments = async (d: RawDevice, fileId: string, offsets: number[]) => {
    const ids = new Set<string>();
    for (let i = 0; i < offsets.length; i += 200) {
      const batch = offsets.slice(i, i + 200);
      const sent = await Promise.all(
        batch.map((offset) => d.publish(`$file/${fileId}/${offset}`, Buffer.from([offset & 0xff]))),
      );
      for (const id of sent) if (id !== undefined) ids.add(id);
    }
    await waitFor(
      () =>
        d.received.filter((r) => r.correlationId !== undefined && ids.has(r.correlationId))
          .length >= ids.size,
      { what: `ingest's answers to ${ids.size} segments`, timeoutMs: 30_000 },
    );
  };
  const segsKey = (clientId: string, fileId: string) =>
    `${h.stack.redisPrefix}ft:{${clientId}.${fileId}}:segs`;

  it('the segment past the cap fails the transfer and is answered 0x83 too_many_segments, as is every later command', async () => {
    const d = await h.device();
    expect(await d.send('$file/tiny/init', JSON.stringify({ name: 'tiny.bin' }))).toMatchObject({
      reason_code: 0,
    });
    await publishSegments(
      d,
      'tiny',
      Array.from({ length: CAP }, (_, i) => i),
    );
    // Ingest answers success once it is durable; the assembler answers it again when it
    // records the segment past the cap.
    const over = await d.publish(`$file/tiny/${CAP}`, Buffer.from([1]));
    const answer = await d.waitFor(
      (r) => r.correlationId === over && r.result.reason_description === 'too_many_segments',
      20_000,
    );
    expect(answer.result).toMatchObject({
      topic: `$file/tiny/${CAP}`,
      reason_code: 0x83,
      reason_description: 'too_many_segments',
    });
    expect(answer.mqttTopic).toBe(d.responseTopic);

    expect(await d.send(`$file/tiny/fin/${CAP + 1}`)).toMatchObject({
      reason_code: 0x83,
      reason_description: 'too_many_segments',
    });
    const later = await d.publish(`$file/tiny/${CAP + 5}`, Buffer.from([1]));
    await d.waitFor(
      (r) => r.correlationId === later && r.result.reason_description === 'too_many_segments',
    );
    // Its segment index is gone, its messages leave the stream.
    expect(await redis.exists(segsKey(d.clientId, 'tiny'))).toBe(0);
    await waitFor(async () => (await h.streamBytes()) < 256 * 1024, {
      what: 'the failed transfer purged from the stream',
      timeoutMs: 20_000,
    });
    await h.afterCase();
  });

  it('one-byte segments with more gaps than a result lists: the fin answer lists 1,000 ranges, flags the rest, stays under 64 KiB', async () => {
    const d = await h.device();
    expect(await d.send('$file/gaps/init', JSON.stringify({ name: 'gaps.bin' }))).toMatchObject({
      reason_code: 0,
    });
    // Bytes 1, 3, 5, … 1,999: 1,000 one-byte gaps before them, and the tail [2,000, 4,000).
    await publishSegments(
      d,
      'gaps',
      Array.from({ length: CAP }, (_, i) => 2 * i + 1),
    );
    const fin = '$file/gaps/fin/4000';
    const id = await d.publish(fin);
    const answer = await d.waitFor((r) => r.correlationId === id, 15_000);
    const bytes = Buffer.byteLength(JSON.stringify(answer.result));
    expect(answer.result).toMatchObject({
      topic: fin,
      reason_code: 0x80,
      reason_description: 'incomplete',
      missing_more: true,
    });
    expect(answer.result.missing).toHaveLength(1_000);
    expect(answer.result.missing?.[0]).toEqual([0, 1]);
    expect(bytes).toBeLessThan(64 * 1024);
    await h.afterCase();
  });
});
