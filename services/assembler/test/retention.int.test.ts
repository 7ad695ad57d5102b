import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  bucketName,
  startS3rver,
  uniqueName,
  waitFor,
  type S3ServerHandle,
} from '@mqft/test-support';
import { createStorage } from '@mqft/storage';
import { assembleTransfer } from '../src/assemble.js';
import { RetentionSweeper } from '../src/retention.js';
import {
  TestAssembler,
  testBytes,
  type TestAssemblerOptions,
  type TestTransfer,
} from './context.js';

// Retention (MQFT_RETENTION_*) on an in-process assembler: real Redis, NATS, file storage and
// s3rver; the sweeper runs as the service runs it, one sweep at a time.
describe('retention', () => {
  let t: TestAssembler;
  let s3: S3ServerHandle;
  const bucket = bucketName();
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: [bucket] });
  });
  afterAll(async () => {
    await s3?.stop();
  });
  afterEach(async () => {
    await t?.close();
  });

  const create = async (
    config: TestAssemblerOptions['config'] = {},
    storage?: TestAssemblerOptions['storage'],
  ) => {
    t = await TestAssembler.create({ config: { retentionEnabled: true, ...config }, storage });
    return t;
  };
  /** s3rver instead of the file backend, under a prefix of its own. */
  const s3Storage = () =>
    createStorage(
      `s3://${bucket}/${uniqueName('ret')}?endpoint=${encodeURIComponent(s3.endpoint)}` +
        `&region=${s3.region}&forcePathStyle=true`,
      { s3: s3.clientConfig() },
    );

  /** init (with `meta`), one segment, fin; then the assembly, as the scheduler runs it. */
  const store = async (transfer: TestTransfer, content: Buffer, meta: object = {}) => {
    await t.record(await transfer.init({ name: 'data.bin', size: content.length, ...meta }));
    await t.record(await transfer.seg(0, content));
    await t.record(await transfer.fin(content.length));
    const lease = await t.lease(transfer.key);
    const record = await t.ctx.store.get(transfer.key);
    expect(await assembleTransfer(t.ctx, lease, record!, new AbortController().signal)).toBe(
      'complete',
    );
    return (await t.ctx.store.get(transfer.key))!;
  };
  const present = async (transfer: TestTransfer) =>
    (await t.ctx.storage.stat({ ...transfer.id, name: 'data.bin' })) !== undefined;

  it.each(['file', 's3'] as const)(
    '%s backend: a file whose expire_at came is deleted with its record; the others stay',
    async (backend) => {
      await create({}, backend === 's3' ? s3Storage : undefined);
      expect(t.ctx.storage.kind).toBe(backend);
      const expiring = t.transfer();
      const kept = t.transfer();
      const expireAt = Math.floor(Date.now() / 1000) + 2;
      const content = testBytes(3000);
      const record = await store(expiring, content, { expire_at: expireAt });
      await store(kept, testBytes(100));
      // The API says when it goes; the complete outcome too.
      expect(record.deleteAt).toBe(expireAt * 1000);
      expect(t.outcomes.find((o) => o.key === expiring.key)).toMatchObject({
        kind: 'complete',
        deleteAt: expireAt * 1000,
      });
      expect((await t.ctx.store.get(kept.key))?.deleteAt).toBeUndefined();
      expect(await t.ctx.retention.size()).toBe(1);

      const sweeper = new RetentionSweeper(t.ctx);
      await sweeper.sweep();
      expect(await present(expiring)).toBe(true); // not yet
      await waitFor(
        async () => {
          await sweeper.sweep();
          return !(await present(expiring));
        },
        { timeoutMs: 10_000, what: 'the expired file deleted' },
      );
      expect(Date.now()).toBeGreaterThanOrEqual(expireAt * 1000);
      expect(await t.ctx.store.get(expiring.key)).toBeUndefined();
      expect(await t.ctx.retention.size()).toBe(0);
      expect(await present(kept)).toBe(true);
      expect(await t.ctx.store.get(kept.key)).toMatchObject({ state: 'complete' });
      expect(t.outcomes.filter((o) => o.kind === 'expired')).toEqual([
        expect.objectContaining({
          id: `expired.${expiring.key}.${record.createdAt}`,
          key: expiring.key,
          location: record.location,
          size: 3000,
        }),
      ]);
      expect(await t.metric('mqft_assembler_expired_files_total')).toBe(1);
      expect(await t.metric('mqft_assembler_expired_bytes_total')).toBe(3000);
      expect(t.logged('stored file expired: deleted')).toHaveLength(1);
    },
  );

  it('retention off: nothing is scheduled, nothing deleted, even past expire_at', async () => {
    await create({ retentionEnabled: false });
    const transfer = t.transfer();
    const record = await store(transfer, testBytes(500), {
      expire_at: Math.floor(Date.now() / 1000) - 60,
    });
    expect(record.deleteAt).toBeUndefined();
    expect(t.outcomes[0]?.deleteAt).toBeUndefined();
    expect(await t.ctx.retention.size()).toBe(0);
    await new RetentionSweeper(t.ctx).sweep();
    expect(await present(transfer)).toBe(true);
    expect(await t.ctx.store.get(transfer.key)).toMatchObject({ state: 'complete' });
  });

  it('MQFT_RETENTION_DEFAULT: a file without expire_at goes that long after it was stored', async () => {
    await create({ retentionDefault: 1500 });
    const transfer = t.transfer();
    const record = await store(transfer, testBytes(200));
    expect(record.deleteAt).toBe((record.completedAt ?? 0) + 1500);
    const sweeper = new RetentionSweeper(t.ctx);
    await waitFor(
      async () => {
        await sweeper.sweep();
        return !(await present(transfer));
      },
      { timeoutMs: 10_000, what: 'the file deleted after the default' },
    );
    expect(await t.ctx.store.get(transfer.key)).toBeUndefined();
  });

  it("does not delete a later upload's file: an entry acts only for the transfer it was made for", async () => {
    await create();
    const transfer = t.transfer();
    await store(transfer, testBytes(300), { expire_at: Math.floor(Date.now() / 1000) - 1 });
    expect(await t.ctx.retention.size()).toBe(1);
    // The file id was uploaded again since (its record lapsed, a new transfer completed): the
    // record's completion is another one.
    await t.redis.hset(t.ctx.store.keys(transfer.key).meta, 'completedAt', Date.now() + 5);
    await new RetentionSweeper(t.ctx).sweep();
    expect(await present(transfer)).toBe(true);
    expect(await t.ctx.store.get(transfer.key)).toMatchObject({ state: 'complete' });
    expect(await t.ctx.retention.size()).toBe(0);
    expect(t.outcomes.filter((o) => o.kind === 'expired')).toEqual([]);
  });
});
