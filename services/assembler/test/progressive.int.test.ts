import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, type StorageBackend } from '@mqft/storage';
import {
  bucketName,
  startS3rver,
  uniqueName,
  waitFor,
  type S3ServerHandle,
} from '@mqft/test-support';
import { PROGRESSIVE_MAX_RESTARTS } from '../src/assemble-progressive.js';
import { ProgressiveAssemblies } from '../src/progressive.js';
import { sha256, TestAssembler, testBytes, WatchedStorage, type TestTransfer } from './context.js';

const SEGMENT = 64 * 1024;
const SIZE = 24 * SEGMENT; // 1.5 MiB
const TIMEOUT = 20_000;

/**
 * Progressive assembly (assemble-progressive.ts) in this process against the real Redis, NATS
 * and storage: the recorders offer transfers to a ProgressiveAssemblies as the service wires
 * it; the test context's requestAssembly only records requests, so whatever completes here
 * was completed by the progressive holder.
 */
describe.each<['file' | 's3']>([['file'], ['s3']])('progressive assembly (%s)', (backend) => {
  let s3: S3ServerHandle | undefined;
  const bucket = bucketName();
  let t: TestAssembler;
  let storage: WatchedStorage;
  let progressive: ProgressiveAssemblies;

  beforeAll(async () => {
    if (backend === 's3') s3 = await startS3rver({ buckets: [bucket] });
  });
  afterAll(async () => {
    await s3?.stop();
  });
  afterEach(async () => {
    await progressive?.stop();
    await t?.close();
  });

  const s3Storage = (server: S3ServerHandle): StorageBackend =>
    createStorage(
      `s3://${bucket}/${uniqueName('prog')}?endpoint=${encodeURIComponent(server.endpoint)}` +
        `&region=${server.region}&forcePathStyle=true`,
      { s3: server.clientConfig() },
    );

  const start = async (config: Partial<TestAssembler['config']> = {}) => {
    t = await TestAssembler.create({
      config: {
        progressiveMinBytes: 4 * SEGMENT,
        progressiveConcurrency: 2,
        progressiveIdle: 30_000,
        ...config,
      },
      storage: (file) => {
        storage = new WatchedStorage(s3 ? s3Storage(s3) : file);
        return storage;
      },
    });
    progressive = new ProgressiveAssemblies(t.ctx, (key) => void t.requested.push(key));
    t.ctx.progressive = {
      offer: (key) => progressive.offer(key),
      wake: (key) => progressive.wake(key),
    };
  };

  /** init with the size, then `content` in segments, recorded; no fin. */
  const sendSegments = async (transfer: TestTransfer, content: Uint8Array, from = 0) => {
    if (from === 0) await t.record(await transfer.init({ name: 'big.bin', size: content.length }));
    for (let offset = from; offset < content.length; offset += SEGMENT) {
      await t.record(await transfer.seg(offset, content.subarray(offset, offset + SEGMENT)));
    }
  };

  /** The progressive holder claimed (`prog`) and wrote (one write per segment) `bytes`. */
  const prefixReaches = (transfer: TestTransfer, bytes: number) =>
    waitFor(
      async () =>
        storage.writes >= bytes / SEGMENT &&
        Number(await t.redis.hget(t.ctx.store.keys(transfer.key).meta, 'prog')) >= bytes,
      { timeoutMs: TIMEOUT, what: `progressive prefix ≥ ${bytes}` },
    );

  const stateOf = async (transfer: TestTransfer) => (await t.ctx.store.get(transfer.key))?.state;

  it('streams the prefix before fin; the fin completes it with the right SHA-256', async () => {
    await start();
    const transfer = t.transfer();
    const content = testBytes(SIZE, 3);
    await sendSegments(transfer, content);
    await prefixReaches(transfer, SIZE);
    const writesBeforeFin = storage.writes;
    expect(writesBeforeFin).toBeGreaterThan(0);
    expect(await stateOf(transfer)).toBe('receiving');
    await t.record(await transfer.fin(SIZE, sha256(content)));
    await waitFor(async () => (await stateOf(transfer)) === 'complete', { timeoutMs: TIMEOUT });
    const record = await t.ctx.store.get(transfer.key);
    expect(record?.checksum).toBe(sha256(content));
    expect(t.resultsFor(transfer.key, 'fin')).toEqual([
      { reason: 'success', location: record?.location },
    ]);
    const stat = await storage.stat({ ...transfer.id, name: 'big.bin' });
    expect(stat?.size).toBe(SIZE);
    // Nothing was written again after fin: the holder only closed the file.
    expect(storage.writes).toBe(writesBeforeFin);
    expect(storage.open).toBe(0);
    expect(await t.metric('mqft_assembler_progressive_total', { end: 'finished' })).toBe(1);
  });

  it('starts over when a written segment is replaced: the file holds the later copy', async () => {
    await start();
    const transfer = t.transfer();
    const first = testBytes(SIZE, 4);
    await sendSegments(transfer, first);
    await prefixReaches(transfer, SIZE);
    const later = Buffer.from(first);
    testBytes(SEGMENT, 9).copy(later, 2 * SEGMENT);
    await t.record(await transfer.seg(2 * SEGMENT, later.subarray(2 * SEGMENT, 3 * SEGMENT)));
    await t.record(await transfer.fin(SIZE, sha256(later)));
    await waitFor(async () => (await stateOf(transfer)) === 'complete', { timeoutMs: TIMEOUT });
    expect((await t.ctx.store.get(transfer.key))?.checksum).toBe(sha256(later));
    expect(await t.metric('mqft_assembler_progressive_restarts_total')).toBeGreaterThanOrEqual(1);
    expect(storage.open).toBe(0);
  });

  it('gives up after PROGRESSIVE_MAX_RESTARTS starts over, and is not offered again', async () => {
    await start();
    const transfer = t.transfer();
    const content = testBytes(SIZE, 14);
    const meta = t.ctx.store.keys(transfer.key).meta;
    await sendSegments(transfer, content);
    // A device that keeps resending its first segment: each copy replaces a written byte.
    await prefixReaches(transfer, SIZE);
    for (let i = 1; i <= PROGRESSIVE_MAX_RESTARTS + 1; i++) {
      const before = storage.writes;
      await t.record(await transfer.seg(0, content.subarray(0, SEGMENT)));
      await waitFor(
        async () => (await t.metric('mqft_assembler_progressive_restarts_total')) >= i,
        { timeoutMs: TIMEOUT, what: `start over ${i}` },
      );
      if (i > PROGRESSIVE_MAX_RESTARTS) break;
      // The attempt after this start over writes the whole prefix again.
      await waitFor(() => storage.writes >= before + SIZE / SEGMENT, {
        timeoutMs: TIMEOUT,
        what: `prefix written again (${i})`,
      });
    }
    await waitFor(
      async () => (await t.metric('mqft_assembler_progressive_total', { end: 'restarts' })) === 1,
      { timeoutMs: TIMEOUT, what: 'given up' },
    );
    expect(await t.redis.hget(meta, 'progOff')).toBe('1');
    await waitFor(() => storage.open === 0, { timeoutMs: TIMEOUT, what: 'upload aborted' });

    const offered: string[] = [];
    const wired = t.ctx.progressive as NonNullable<typeof t.ctx.progressive>;
    t.ctx.progressive = { ...wired, offer: (key) => void offered.push(key) };
    await t.redis.hset(meta, 'progAt', 0); // past the offers' rate limit
    await t.record(await transfer.seg(SEGMENT, content.subarray(SEGMENT, 2 * SEGMENT)));
    expect(offered).toEqual([]);
    // Its fin asks for the normal assembly.
    await t.record(await transfer.fin(SIZE, sha256(content)));
    expect(t.requested).toContain(transfer.key);
  });

  it('without a size, writes what is contiguous; a fin below it starts over, cut at the size', async () => {
    await start();
    const transfer = t.transfer();
    const content = testBytes(SIZE, 12);
    await t.record(await transfer.init({ name: 'big.bin' }));
    await sendSegments(transfer, content, SEGMENT);
    await t.record(await transfer.seg(0, content.subarray(0, SEGMENT)));
    await prefixReaches(transfer, SIZE);
    const size = SIZE - SEGMENT - 100;
    await t.record(await transfer.fin(size, sha256(content.subarray(0, size))));
    await waitFor(async () => (await stateOf(transfer)) === 'complete', { timeoutMs: TIMEOUT });
    expect((await t.ctx.store.get(transfer.key))?.checksum).toBe(sha256(content.subarray(0, size)));
    expect(await t.metric('mqft_assembler_progressive_restarts_total')).toBeGreaterThanOrEqual(1);
    expect(storage.open).toBe(0);
  });

  it('leaves nothing visible on a checksum mismatch', async () => {
    await start();
    const transfer = t.transfer();
    const content = testBytes(SIZE, 5);
    await sendSegments(transfer, content);
    await prefixReaches(transfer, SIZE);
    await t.record(await transfer.fin(SIZE, sha256(testBytes(SIZE, 6))));
    await waitFor(() => t.resultsFor(transfer.key, 'fin').length > 0, { timeoutMs: TIMEOUT });
    expect(t.resultsFor(transfer.key, 'fin')).toEqual([{ reason: 'checksum_mismatch' }]);
    expect(await storage.stat({ ...transfer.id, name: 'big.bin' })).toBeUndefined();
    expect(await stateOf(transfer)).toBe('receiving');
    await waitFor(() => storage.open === 0, { timeoutMs: TIMEOUT, what: 'upload aborted' });
  });

  it('an abort mid-way drops the upload; nothing is visible', async () => {
    await start();
    const transfer = t.transfer();
    const content = testBytes(SIZE, 7);
    await sendSegments(transfer, content.subarray(0, SIZE / 2));
    await prefixReaches(transfer, SIZE / 2);
    expect(storage.open).toBe(1);
    await t.record(await transfer.abort());
    await waitFor(() => storage.open === 0 && progressive.active === 0, {
      timeoutMs: TIMEOUT,
      what: 'upload aborted',
    });
    expect(await stateOf(transfer)).toBe('aborted');
    expect(await storage.stat({ ...transfer.id, name: 'big.bin' })).toBeUndefined();
  });

  it('gives the lease and the upload up when the prefix stops growing', async () => {
    await start({ progressiveIdle: 1000 });
    const transfer = t.transfer();
    await sendSegments(transfer, testBytes(SIZE, 8).subarray(0, SIZE / 2));
    await prefixReaches(transfer, SIZE / 2);
    await waitFor(() => progressive.active === 0, { timeoutMs: TIMEOUT, what: 'idle' });
    expect(await t.metric('mqft_assembler_progressive_total', { end: 'idle' })).toBe(1);
    expect(storage.open).toBe(0);
    expect(await t.redis.exists(t.ctx.store.keys(transfer.key).lease)).toBe(0);
    const record = await t.ctx.store.get(transfer.key);
    expect(record?.state).toBe('receiving');
    expect(record?.uploadId).toBeUndefined();
  });

  it('stops when its lease is lost', async () => {
    await start();
    const transfer = t.transfer();
    await sendSegments(transfer, testBytes(SIZE, 10).subarray(0, SIZE / 2));
    await prefixReaches(transfer, SIZE / 2);
    const { lease } = t.ctx.store.keys(transfer.key);
    await t.redis.set(lease, '999:someone-else', 'PX', 60_000);
    await waitFor(() => progressive.active === 0, { timeoutMs: TIMEOUT, what: 'stopped' });
    expect(await t.metric('mqft_assembler_progressive_total', { end: 'lease_lost' })).toBe(1);
    expect(storage.open).toBe(0);
    // The other holder's lease stays.
    expect(await t.redis.get(lease)).toBe('999:someone-else');
  });

  it('small transfers are never offered', async () => {
    await start();
    const transfer = t.transfer();
    await sendSegments(transfer, testBytes(3 * SEGMENT, 11));
    expect(progressive.active).toBe(0);
    expect(storage.writes).toBe(0);
  });
});
