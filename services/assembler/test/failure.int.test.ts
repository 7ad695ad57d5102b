import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { transferKeys } from '@mqft/state';
import { StorageError, type FileUpload, type StorageBackend } from '@mqft/storage';
import { waitFor } from '@mqft/test-support';
import { assembleTransfer } from '../src/assemble.js';
import { AssemblyScheduler } from '../src/scheduler.js';
import {
  TestAssembler,
  testBytes,
  WatchedStorage,
  type TestAssemblerOptions,
  type TestTransfer,
} from './context.js';

/** The storage backend whose begin() throws what `failure` gives (while it gives something). */
class FailingStorage extends WatchedStorage {
  readonly begins: number[] = [];

  constructor(
    inner: StorageBackend,
    private readonly failure: (attempt: number) => Error | undefined,
  ) {
    super(inner);
  }

  override async begin(...args: Parameters<StorageBackend['begin']>): Promise<FileUpload> {
    this.begins.push(Date.now());
    const err = this.failure(this.begins.length);
    if (err) throw err;
    return super.begin(...args);
  }
}

const ERROR = 50;

// No retry without end (docs/protocol.md "Failed transfers"): an assembly that fails permanently, N times, or whose
// lease holders died twice ends the transfer failed, and the device hears 0x83 assembly_failed.
describe('assembly failures end the transfer', () => {
  let t: TestAssembler;
  let scheduler: AssemblyScheduler | undefined;

  const create = async (options: TestAssemblerOptions = {}) => {
    t = await TestAssembler.create(options);
    return t;
  };
  /** A scheduler on the context: assembly requests go to it, the due index is swept. */
  const startScheduler = () => {
    const started = new AssemblyScheduler(t.ctx);
    t.ctx.requestAssembly = (key) => started.request(key);
    started.start();
    scheduler = started;
    return started;
  };
  afterEach(async () => {
    await scheduler?.stop(1_000);
    scheduler = undefined;
    await t?.close();
  });

  const assemble = async (transfer: TestTransfer) => {
    const lease = await t.lease(transfer.key);
    const record = await t.ctx.store.get(transfer.key);
    if (!record) throw new Error('no record');
    return assembleTransfer(t.ctx, lease, record, new AbortController().signal);
  };
  const finAnswered = (key: string) =>
    waitFor(() => t.resultsFor(key, 'fin').length > 0, { what: `the fin of ${key} answered` });

  /** Everything a failed transfer leaves: the record, the answer, the event, the metric. */
  const expectFailed = async (transfer: TestTransfer, cause: string) => {
    const { key } = transfer;
    expect(await t.ctx.store.get(key)).toMatchObject({
      state: 'failed',
      errorReason: 'assembly_failed',
      failCause: cause,
    });
    expect(t.resultsFor(key, 'fin')).toEqual([{ reason: 'assembly_failed' }]);
    expect(t.events).toContainEqual({ key, state: 'failed', reason: 'assembly_failed' });
    expect(await t.metric('mqft_assembler_failed_transfers_total', { cause })).toBe(1);
    const errors = t.logged('transfer failed: assembly given up');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ level: ERROR, key, cause });
    // Nothing of it stays but the record: segments, lease, quota slot, due entry, messages.
    const keys = transferKeys(t.config.redisPrefix, key);
    expect(await t.redis.exists(keys.segs, keys.lease)).toBe(0);
    expect(await t.holdsQuota(key)).toBe(false);
    await waitFor(async () => (await t.storedMessages(key)) === 0, { what: 'messages purged' });
    await waitFor(async () => (await t.dueAt(key)) === undefined, { what: 'unscheduled' });
    expect(await readdir(join(t.storageDir, '%tmp')).catch(() => [])).toEqual([]);
  };

  it('storage refusing the file for good: failed at once, the fin answered 0x83', async () => {
    await create();
    const transfer = t.transfer();
    // A directory at the file's own path: no attempt can ever rename the data there (EISDIR).
    const finalPath = join(t.storageDir, transfer.id.clientId, transfer.id.fileId, 'data.bin');
    await mkdir(join(finalPath, 'in-the-way'), { recursive: true });
    await transfer.upload(testBytes(2_500));

    expect(await assemble(transfer)).toBe('failed');

    await expectFailed(transfer, 'storage_refused');
    expect(await t.metric('mqft_assembler_assemblies_total', { result: 'retry' })).toBe(0);
  });

  it('data that cannot be processed (RangeError): failed at once (invalid_data)', async () => {
    await create({
      storage: (backend) =>
        new FailingStorage(backend, () => new RangeError('Maximum call stack size exceeded')),
    });
    const transfer = t.transfer();
    await transfer.upload(testBytes(1_000));

    expect(await assemble(transfer)).toBe('failed');

    await expectFailed(transfer, 'invalid_data');
  });

  it('later commands of a failed transfer: fin and init told assembly_failed, abort leaves it failed', async () => {
    await create({
      storage: (backend) => new FailingStorage(backend, () => new RangeError('too deep')),
    });
    const transfer = t.transfer();
    await transfer.upload(testBytes(1_000));
    expect(await assemble(transfer)).toBe('failed');

    expect(await t.record(await transfer.fin(1_000))).toBe('failed');
    expect(t.resultsFor(transfer.key, 'fin')).toEqual([
      { reason: 'assembly_failed' },
      { reason: 'assembly_failed' },
    ]);
    expect(await t.record(await transfer.init({ name: 'data.bin', size: 1_000 }))).toBe('failed');
    expect(t.resultsFor(transfer.key, 'init').at(-1)).toEqual({ reason: 'assembly_failed' });
    expect(await t.holdsQuota(transfer.key)).toBe(false);
    expect(await t.record(await transfer.seg(0, testBytes(10)))).toBe('ignored_failed');
    expect(await t.record(await transfer.abort())).toBe('failed');
    expect(t.resultsFor(transfer.key, 'abort')).toEqual([{ reason: 'success' }]);
    expect(await t.ctx.store.get(transfer.key)).toMatchObject({
      state: 'failed',
      errorReason: 'assembly_failed',
    });
  });

  it('storage unavailable: retried with a doubling back-off, failed after MQFT_ASSEMBLY_MAX_ATTEMPTS', async () => {
    let failing: FailingStorage | undefined;
    await create({
      storage: (backend) =>
        (failing = new FailingStorage(
          backend,
          () => new StorageError('storage down', { code: 'io', retryable: true }),
        )),
      config: { assemblyMaxAttempts: 4, assemblyRetryDelay: 1000, assemblyRetryMaxDelay: 1500 },
    });
    startScheduler();
    const transfer = t.transfer();
    await transfer.upload(testBytes(1_000));
    await waitFor(async () => (await t.ctx.store.get(transfer.key))?.retryAt !== undefined, {
      what: 'the first attempt failed and backing off',
    });
    expect(failing!.begins).toHaveLength(1);
    // A device resending fin while it hears nothing: must not bring the next attempt forward.
    expect(await t.record(await transfer.fin(1_000))).toBe('ready');

    await finAnswered(transfer.key);

    const { begins } = failing!;
    expect(begins).toHaveLength(4);
    const gaps = begins.slice(1).map((at, i) => at - begins[i]!);
    // 1000, 2000 capped at 1500, 1500 (a sweep each second may add up to one second).
    for (const [i, least] of [1000, 1500, 1500].entries())
      expect(gaps[i]).toBeGreaterThanOrEqual(least);
    expect(await t.metric('mqft_assembler_assemblies_total', { result: 'retry' })).toBe(3);
    expect(await t.metric('mqft_assembler_assemblies_total', { result: 'failed' })).toBe(1);
    await expectFailed(transfer, 'retries_exhausted');
    expect(await t.ctx.store.get(transfer.key)).toMatchObject({ attempts: 4 });
    expect(t.logged('assembly failed; will retry')).toHaveLength(3);
  });

  it('storage back within the attempts: the transfer completes', async () => {
    let failing: FailingStorage | undefined;
    await create({
      storage: (backend) =>
        (failing = new FailingStorage(backend, (n) =>
          n <= 2 ? new StorageError('storage down', { code: 'io', retryable: true }) : undefined,
        )),
      config: { assemblyMaxAttempts: 3, assemblyRetryDelay: 100 },
    });
    startScheduler();
    const transfer = t.transfer();
    await transfer.upload(testBytes(1_000));
    await finAnswered(transfer.key);
    expect(t.resultsFor(transfer.key, 'fin')).toMatchObject([{ reason: 'success' }]);
    expect(failing!.begins).toHaveLength(3);
  });

  /** Takes the lease as an assembler would, and "dies": the lease expires, the state stays. */
  const dieHolding = async (transfer: TestTransfer) => {
    await t.lease(transfer.key);
    const { lease } = transferKeys(t.config.redisPrefix, transfer.key);
    await waitFor(async () => (await t.redis.exists(lease)) === 0, { what: 'the lease expired' });
    expect(await t.ctx.store.get(transfer.key)).toMatchObject({ state: 'assembling' });
  };

  it('two lease holders died while assembling: the third fails it instead of trying', async () => {
    let watched: WatchedStorage | undefined;
    await create({
      storage: (backend) => (watched = new WatchedStorage(backend)),
      config: { leaseTtl: 300 },
    });
    const transfer = t.transfer();
    await transfer.upload(testBytes(1_000));
    await dieHolding(transfer);
    await dieHolding(transfer);

    startScheduler().request(transfer.key);
    await finAnswered(transfer.key);

    expect(watched!.maxOpen).toBe(0); // no third attempt at all
    await expectFailed(transfer, 'assembler_died');
    expect(await t.ctx.store.get(transfer.key)).toMatchObject({ deaths: 2 });
  });

  it('one lease holder died: the next one assembles it', async () => {
    await create({ config: { leaseTtl: 300 } });
    const transfer = t.transfer();
    await transfer.upload(testBytes(1_000));
    await dieHolding(transfer);

    startScheduler().request(transfer.key);
    await finAnswered(transfer.key);

    expect(t.resultsFor(transfer.key, 'fin')).toMatchObject([{ reason: 'success' }]);
    expect(await t.ctx.store.get(transfer.key)).toMatchObject({ state: 'complete', deaths: 1 });
  });
});
