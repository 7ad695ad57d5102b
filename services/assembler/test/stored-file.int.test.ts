import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferKeys, type TransferRecord } from '@mqft/state';
import { assembleTransfer } from '../src/assemble.js';
import { settleIfStored, storedCompletion } from '../src/stored-file.js';
import { sha256, TestAssembler, testBytes } from './context.js';

// Whether storage already holds a transfer's verified file, and settling a rebuilt transfer
// by it.
describe('stored-file settlement', () => {
  let t: TestAssembler;
  const content = testBytes(1_200);
  const meta = { name: 'kept.bin', size: 1_200, user_data: { n: 1 } };
  let stored: TransferRecord;
  let location: string;

  beforeAll(async () => {
    t = await TestAssembler.create();
    const transfer = t.transfer();
    await t.record(await transfer.init(meta));
    await t.record(await transfer.seg(0, content));
    await t.record(await transfer.fin(1_200, sha256(content)));
    const lease = await t.lease(transfer.key);
    const record = await t.ctx.store.get(transfer.key);
    expect(await assembleTransfer(t.ctx, lease, record!, new AbortController().signal)).toBe(
      'complete',
    );
    stored = { ...record!, state: 'receiving' };
    location = (await t.ctx.store.get(transfer.key))?.location ?? '';
  });
  afterAll(async () => {
    await t?.close();
  });

  it('finds the file of this very transfer, with its size and SHA-256', async () => {
    expect(await storedCompletion(t.ctx, stored)).toEqual({
      location,
      size: 1_200,
      sha256: sha256(content),
    });
  });

  it.each<[string, Partial<TransferRecord>]>([
    [
      'another init (same name, other metadata)',
      { filemeta: JSON.stringify({ ...meta, user_data: { n: 2 } }) },
    ],
    ['another fin size', { finSize: 1_199 }],
    ['another declared size', { declaredSize: 1_201 }],
    ['another checksum', { expectedChecksum: sha256(testBytes(1_200, 5)) }],
    ['no init recorded', { name: undefined, filemeta: undefined }],
    [
      'another file name',
      { name: 'other.bin', filemeta: JSON.stringify({ ...meta, name: 'other.bin' }) },
    ],
  ])('does not take it for a record with %s', async (_, change) => {
    expect(await storedCompletion(t.ctx, { ...stored, ...change })).toBeUndefined();
  });

  it('settleIfStored marks a rebuilt receiving transfer complete and answers its fin', async () => {
    const transfer = t.transfer({ clientId: stored.clientId, fileId: stored.fileId });
    await t.redis.del(...Object.values(transferKeys(t.config.redisPrefix, transfer.key)));
    await t.record(await transfer.init(meta));
    await t.record(await transfer.fin(1_200));
    const before = t.resultsFor(transfer.key, 'fin').length;

    expect(await settleIfStored(t.ctx, transfer.key)).toBe(true);

    const record = await t.ctx.store.get(transfer.key);
    expect(record).toMatchObject({ state: 'complete', size: 1_200, checksum: sha256(content) });
    expect(record?.location).toBe(location);
    expect(t.resultsFor(transfer.key, 'fin').slice(before)).toEqual([
      { reason: 'success', location },
    ]);
    expect(await t.metric('mqft_assembler_assemblies_total', { result: 'already_stored' })).toBe(1);
    expect(await t.holdsQuota(transfer.key)).toBe(false);
    // Only a receiving transfer is settled so.
    expect(await settleIfStored(t.ctx, transfer.key)).toBe(false);
  });

  it('settleIfStored leaves a transfer alone when storage does not hold its file', async () => {
    const transfer = t.transfer();
    await t.record(await transfer.init({ name: 'missing.bin' }));
    expect(await settleIfStored(t.ctx, transfer.key)).toBe(false);
    expect((await t.ctx.store.get(transfer.key))?.state).toBe('receiving');
  });
});
