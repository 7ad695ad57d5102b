import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assembleTransfer } from '../src/assemble.js';
import { storedFileTarget } from '../src/stored-file.js';
import {
  readLocation,
  sha256,
  TestAssembler,
  testBytes,
  type TestAssemblerOptions,
  type TestTransfer,
} from './context.js';

// assembleTransfer with its lease taken as the scheduler takes it; the file storage, the
// store and the stream are real, the device's answers and the events are recorded.
describe('assembleTransfer', () => {
  let t: TestAssembler;
  const create = async (options: TestAssemblerOptions = {}) => {
    t = await TestAssembler.create(options);
    return t;
  };
  afterEach(async () => {
    await t?.close();
  });

  const assemble = async (transfer: TestTransfer, shutdown = new AbortController().signal) => {
    const lease = await t.lease(transfer.key);
    const record = await t.ctx.store.get(transfer.key);
    if (!record) throw new Error('no record');
    return assembleTransfer(t.ctx, lease, record, shutdown);
  };
  const tempFiles = async () => readdir(join(t.storageDir, '%tmp')).catch(() => []);

  it('complete: the verified file in storage, the fin answered, the slot freed, the stream purged', async () => {
    await create();
    const content = testBytes(2_500);
    const transfer = t.transfer();
    const { outcomes } = await transfer.upload(content, { checksum: sha256(content) });
    expect(outcomes).toEqual(['created', 'recorded', 'recorded', 'recorded', 'ready']);
    expect(await t.holdsQuota(transfer.key)).toBe(true);

    expect(await assemble(transfer)).toBe('complete');

    const record = await t.ctx.store.get(transfer.key);
    expect(record).toMatchObject({ state: 'complete', size: 2_500, checksum: sha256(content) });
    const location = record?.location ?? '';
    expect(await readLocation(location)).toEqual(content);
    const stat = await t.ctx.storage.stat(storedFileTarget(record!));
    expect(stat).toMatchObject({ size: 2_500, metadata: { sha256: sha256(content) } });
    expect(t.resultsFor(transfer.key, 'fin')).toEqual([{ reason: 'success', location }]);
    expect(t.events.filter((e) => e.key === transfer.key).at(-1)).toEqual({
      key: transfer.key,
      state: 'complete',
      location,
    });
    expect(await t.holdsQuota(transfer.key)).toBe(false);
    await t.ctx.purger.settled();
    expect(await t.storedMessages(transfer.key)).toBe(0);
    expect(await t.dueAt(transfer.key)).toBeUndefined();
    expect(await t.metric('mqft_assembler_assembled_bytes_total')).toBe(2_500);
    expect(await tempFiles()).toEqual([]);
  });

  it('uses the first copy covering each byte when segments overlap', async () => {
    await create();
    const content = testBytes(10);
    const transfer = t.transfer();
    await t.record(await transfer.init({ name: 'x.bin' }));
    await t.record(await transfer.seg(0, content.subarray(0, 6)));
    await t.record(await transfer.seg(4, content.subarray(4, 10)));
    await t.record(await transfer.fin(10, sha256(content)));
    expect(await assemble(transfer)).toBe('complete');
    const { location } = (await t.ctx.store.get(transfer.key)) ?? {};
    expect(await readLocation(location ?? '')).toEqual(content);
  });

  it('checksum mismatch: nothing visible, the transfer reset, the fin answered', async () => {
    await create();
    const content = testBytes(2_000);
    const transfer = t.transfer();
    const { segments } = await transfer.upload(content, { checksum: sha256(testBytes(2_000, 9)) });

    expect(await assemble(transfer)).toBe('checksum_mismatch');

    const record = await t.ctx.store.get(transfer.key);
    expect(await t.ctx.storage.stat(storedFileTarget(record!))).toBeUndefined();
    expect(await tempFiles()).toEqual([]);
    expect(record).toMatchObject({
      state: 'receiving',
      bytes: 0,
      segCount: 0,
      errorReason: 'checksum_mismatch',
    });
    expect(record?.finSize).toBeUndefined();
    expect(await t.ctx.store.segments(transfer.key)).toEqual([]);
    expect(t.resultsFor(transfer.key, 'fin')).toEqual([{ reason: 'checksum_mismatch' }]);
    expect(t.events.filter((e) => e.key === transfer.key).at(-1)).toEqual({
      key: transfer.key,
      state: 'receiving',
      reason: 'checksum_mismatch',
    });
    // Purged: what the assembly knew (init and segments); the fin came after the last segment.
    for (const seg of segments) expect(await t.holds(seg.stored.seq)).toBe(false);
    expect(await t.storedMessages(transfer.key)).toBe(1);
    expect(await t.dueAt(transfer.key)).toBeUndefined();
    // A late copy of a purged segment is not recorded again; a resend is.
    expect(await t.record(segments[0]!)).toBe('duplicate');
    expect(await t.record(await transfer.seg(0, content.subarray(0, 1000)))).toBe('recorded');
  });

  it('a gap within the fin grace: released to wait, due when the grace ends, nothing answered', async () => {
    await create({ config: { finGrace: 60_000 } });
    const transfer = t.transfer();
    await t.record(await transfer.init());
    // 4 + 6 bytes cover the size by count, not by position: [4, 6) is missing.
    await t.record(await transfer.seg(0, testBytes(4)));
    await t.record(await transfer.seg(6, testBytes(6)));
    expect(await t.record(await transfer.fin(10))).toBe('ready');

    expect(await assemble(transfer)).toBe('incomplete_waiting');

    const record = await t.ctx.store.get(transfer.key);
    expect(record).toMatchObject({ state: 'receiving', finSize: 10 });
    expect(await t.dueAt(transfer.key)).toBe(record!.finAt! + 60_000);
    expect(t.resultsFor(transfer.key, 'fin')).toEqual([]);
  });

  it('a gap after the fin grace: the fin answered incomplete with the missing ranges', async () => {
    await create({ config: { finGrace: 0 } });
    const transfer = t.transfer();
    await t.record(await transfer.init());
    await t.record(await transfer.seg(0, testBytes(4)));
    await t.record(await transfer.seg(6, testBytes(6)));
    await t.record(await transfer.fin(10));

    expect(await assemble(transfer)).toBe('incomplete');

    expect(t.resultsFor(transfer.key, 'fin')).toEqual([
      { reason: 'incomplete', missing: [[4, 6]] },
    ]);
    const record = await t.ctx.store.get(transfer.key);
    expect(record).toMatchObject({
      state: 'receiving',
      errorReason: 'incomplete',
      missing: [[4, 6]],
    });
    expect(record?.finSize).toBeUndefined();
    // The segments stay for the resend of the gap.
    expect(await t.ctx.store.segments(transfer.key)).toHaveLength(2);
    expect(await t.dueAt(transfer.key)).toBeUndefined();
    expect(t.events.filter((e) => e.key === transfer.key).at(-1)).toEqual({
      key: transfer.key,
      state: 'receiving',
      reason: 'incomplete',
    });
  });

  it('segments lost from the stream: reset, the fin answered segments_lost', async () => {
    await create();
    const content = testBytes(3_000);
    const transfer = t.transfer();
    const { segments } = await transfer.upload(content);
    await t.ctx.jsm.streams.deleteMessage(t.config.stream, segments[1]!.stored.seq);

    expect(await assemble(transfer)).toBe('segments_lost');

    const record = await t.ctx.store.get(transfer.key);
    expect(record).toMatchObject({ state: 'receiving', bytes: 0, errorReason: 'segments_lost' });
    expect(await t.ctx.storage.stat(storedFileTarget(record!))).toBeUndefined();
    expect(await tempFiles()).toEqual([]);
    expect(t.resultsFor(transfer.key, 'fin')).toEqual([{ reason: 'segments_lost' }]);
    for (const seg of segments) expect(await t.holds(seg.stored.seq)).toBe(false);
  });

  it('segments lost but the verified file stored already: complete (already_stored)', async () => {
    await create();
    const content = testBytes(2_000);
    const first = t.transfer();
    await first.upload(content);
    expect(await assemble(first)).toBe('complete');
    await t.ctx.purger.settled();
    // Redis lost the completion; a replay rebuilt the transfer from copies that are gone now.
    await t.redis.del(...(await t.redis.keys(`${t.config.redisPrefix}*`)));
    const { segments } = await first.upload(content);
    for (const seg of segments)
      await t.ctx.jsm.streams.deleteMessage(t.config.stream, seg.stored.seq);

    expect(await assemble(first)).toBe('already_stored');

    const record = await t.ctx.store.get(first.key);
    expect(record).toMatchObject({ state: 'complete', size: 2_000, checksum: sha256(content) });
    expect(t.resultsFor(first.key, 'fin').at(-1)).toEqual({
      reason: 'success',
      location: record?.location,
    });
    expect(await readLocation(record!.location!)).toEqual(content);
    expect(await t.holdsQuota(first.key)).toBe(false);
  });

  it('storage failing: released to wait and due again 3 s later (retry)', async () => {
    await create();
    // A file where the backend keeps its temporary files: every upload fails.
    await mkdir(t.storageDir, { recursive: true });
    await writeFile(join(t.storageDir, '%tmp'), 'in the way');
    const transfer = t.transfer();
    await transfer.upload(testBytes(100));
    const before = Date.now();

    expect(await assemble(transfer)).toBe('retry');

    expect(await t.ctx.store.get(transfer.key)).toMatchObject({ state: 'receiving', finSize: 100 });
    const due = await t.dueAt(transfer.key);
    expect(due).toBeGreaterThanOrEqual(before + 3_000);
    expect(due).toBeLessThanOrEqual(Date.now() + 3_000);
    expect(t.resultsFor(transfer.key, 'fin')).toEqual([]);
    expect(await t.metric('mqft_assembler_storage_errors_total', { operation: 'storage' })).toBe(1);
    await rm(join(t.storageDir, '%tmp'));
    expect(await assemble(transfer)).toBe('complete');
  });

  it('shutting down: handed back (lease released, due at once), nothing answered', async () => {
    await create();
    const transfer = t.transfer();
    await transfer.upload(testBytes(3_000));
    const stopping = new AbortController();
    stopping.abort(new Error('shutting down'));
    const before = Date.now();

    expect(await assemble(transfer, stopping.signal)).toBe('handed_over');

    expect(await t.ctx.store.get(transfer.key)).toMatchObject({
      state: 'receiving',
      finSize: 3_000,
    });
    const due = await t.dueAt(transfer.key);
    expect(due).toBeGreaterThanOrEqual(before);
    expect(due).toBeLessThanOrEqual(Date.now());
    expect(t.resultsFor(transfer.key, 'fin')).toEqual([]);
    expect(await tempFiles()).toEqual([]);
    expect(await t.lease(transfer.key)).toBeDefined(); // free for the next assembler
  });
});
