import { afterEach, describe, expect, it } from 'vitest';
import { buildResult, encodeResult, MAX_MISSING_RANGES } from '@mqft/protocol';
import { transferKeys } from '@mqft/state';
import { waitFor } from '@mqft/test-support';
import { assembleTransfer } from '../src/assemble.js';
import { AssemblyScheduler } from '../src/scheduler.js';
import {
  readLocation,
  TestAssembler,
  testBytes,
  type PublishedCommand,
  type TestAssemblerOptions,
  type TestTransfer,
} from './context.js';

const KiB = 1024;

// Issue 14 case 3: a cap on segments per transfer, answered at the segment that exceeds it,
// and results of bounded size however many ranges are missing.
describe('tiny segments', () => {
  let t: TestAssembler;
  let scheduler: AssemblyScheduler | undefined;
  const create = async (options: TestAssemblerOptions = {}) => {
    t = await TestAssembler.create(options);
    return t;
  };
  afterEach(async () => {
    await scheduler?.stop(1_000);
    scheduler = undefined;
    await t?.close();
  });

  /** A segment as ingest stores it: with its reply (the device's topic for this offset). */
  /** Publishes and records `count` one-byte segments at offsets 0, step, 2·step, … */
  const oneByteSegments = async (transfer: TestTransfer, count: number, step: number) => {
    const batch = 250;
    for (let first = 0; first < count; first += batch) {
      const published: PublishedCommand[] = await Promise.all(
        Array.from({ length: Math.min(batch, count - first) }, (_, i) =>
          transfer.segWithReply((first + i) * step, testBytes(1, first + i)),
        ),
      );
      await Promise.all(published.map((p) => t.record(p)));
    }
  };

  it('fails the transfer at the segment past MQFT_MAX_SEGMENTS_PER_TRANSFER and answers it, the waiting fin and every later command', async () => {
    await create({ config: { maxSegmentsPerTransfer: 5, finGrace: 60_000 } });
    const transfer = t.transfer();
    await t.record(await transfer.init({ name: 'tiny.bin' }));
    expect(await t.holdsQuota(transfer.key)).toBe(true);
    for (let offset = 0; offset < 5; offset++)
      expect(await t.record(await transfer.segWithReply(offset, testBytes(1, offset)))).toBe(
        'recorded',
      );
    // A later copy at a recorded offset replaces it: not a new segment.
    expect(await t.record(await transfer.segWithReply(4, testBytes(1, 9)))).toBe('recorded');
    expect(await t.record(await transfer.fin(10))).toBe('waiting');

    expect(await t.record(await transfer.segWithReply(5, testBytes(1)))).toBe('too_many_segments');

    expect(t.resultsFor(transfer.key, 5)).toEqual([{ reason: 'too_many_segments' }]);
    expect(t.resultsFor(transfer.key, 'fin')).toEqual([{ reason: 'too_many_segments' }]);
    expect(await t.ctx.store.get(transfer.key)).toMatchObject({
      state: 'failed',
      errorReason: 'too_many_segments',
      segCount: 0,
      bytes: 0,
    });
    expect(await t.redis.exists(transferKeys(t.config.redisPrefix, transfer.key).segs)).toBe(0);
    expect(await t.holdsQuota(transfer.key)).toBe(false);
    expect(t.events.filter((e) => e.key === transfer.key).at(-1)).toEqual({
      key: transfer.key,
      state: 'failed',
      reason: 'too_many_segments',
    });
    // Its messages leave the stream (in the background); nothing is due for it.
    await waitFor(async () => (await t.storedMessages(transfer.key)) === 0, {
      what: 'the failed transfer purged',
    });
    expect(await t.dueAt(transfer.key)).toBeUndefined();

    // Every later command hears why.
    expect(await t.record(await transfer.segWithReply(6, testBytes(1)))).toBe('ignored_failed');
    expect(t.resultsFor(transfer.key, 6)).toEqual([{ reason: 'too_many_segments' }]);
    expect(await t.record(await transfer.fin(10))).toBe('failed');
    expect(t.resultsFor(transfer.key, 'fin').at(-1)).toEqual({ reason: 'too_many_segments' });
    expect(await t.record(await transfer.init({ name: 'tiny.bin' }))).toBe('failed');
    expect(t.resultsFor(transfer.key, 'init').at(-1)).toEqual({ reason: 'too_many_segments' });
    expect(await t.holdsQuota(transfer.key)).toBe(false);
  });

  it('20,000 one-byte segments with gaps: the fin answer lists the first ranges, flags the rest, and stays under 64 KiB', async () => {
    await create({ config: { finGrace: 0 } });
    const transfer = t.transfer();
    await t.record(await transfer.init({ name: 'gaps.bin' }));
    await oneByteSegments(transfer, 20_000, 2); // bytes 0, 2, 4, …: 20,000 gaps of one byte
    await t.record(await transfer.fin(40_000));
    scheduler = new AssemblyScheduler(t.ctx);
    scheduler.start(); // the fin grace (0) ran out: the sweep answers the fin

    await waitFor(() => t.resultsFor(transfer.key, 'fin').length > 0, {
      what: 'the fin answered',
      timeoutMs: 15_000,
    });
    const [answer] = t.resultsFor(transfer.key, 'fin');
    expect(answer?.reason).toBe('incomplete');
    expect(answer?.missing).toHaveLength(MAX_MISSING_RANGES);
    expect(answer?.missing?.[0]).toEqual([1, 2]);
    expect(answer?.missingMore).toBe(true);
    const document = encodeResult(
      buildResult({ deviceTopic: `$file/${transfer.id.fileId}/fin/40000`, ...answer! }),
    );
    expect(document.length).toBeLessThan(64 * KiB);
    expect(JSON.parse(document.toString('utf8'))).toMatchObject({ missing_more: true });
    // What Redis keeps (and the API shows) is bounded too.
    const record = await t.ctx.store.get(transfer.key);
    expect(record?.missing).toHaveLength(MAX_MISSING_RANGES);
    expect(record?.missingMore).toBe(true);
  });

  it('an assembly that finds gaps among many segments answers with the first ranges and the flag', async () => {
    await create({ config: { finGrace: 0 } });
    const transfer = t.transfer();
    await t.record(await transfer.init({ name: 'ready-gaps.bin' }));
    await oneByteSegments(transfer, 3_000, 2);
    // Bytes past the size count for readiness (bytes ≥ size), not for coverage.
    await t.record(await transfer.segWithReply(6_000, testBytes(3_000)));
    expect(await t.record(await transfer.fin(6_000))).toBe('ready');
    const lease = await t.lease(transfer.key);
    const record = await t.ctx.store.get(transfer.key);
    const result = await assembleTransfer(t.ctx, lease, record!, new AbortController().signal);
    expect(result).toBe('incomplete');
    const [answer] = t.resultsFor(transfer.key, 'fin');
    expect(answer?.missing).toHaveLength(MAX_MISSING_RANGES);
    expect(answer?.missingMore).toBe(true);
  });

  it('assembles 20,000 one-byte segments read a page at a time', async () => {
    await create();
    const transfer = t.transfer();
    await t.record(await transfer.init({ name: 'many.bin' }));
    await oneByteSegments(transfer, 20_000, 1);
    expect(await t.record(await transfer.fin(20_000))).toBe('ready');
    const lease = await t.lease(transfer.key);
    const record = await t.ctx.store.get(transfer.key);
    expect(await assembleTransfer(t.ctx, lease, record!, new AbortController().signal)).toBe(
      'complete',
    );
    const expected = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => testBytes(1, i)));
    const { location } = (await t.ctx.store.get(transfer.key)) ?? {};
    expect(await readLocation(location ?? '')).toEqual(expected);
  });
});
