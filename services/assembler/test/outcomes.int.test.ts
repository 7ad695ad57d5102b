import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@mqft/test-support';
import { AssemblyScheduler } from '../src/scheduler.js';
import { sha256, TestAssembler, testBytes } from './context.js';

// The outcomes an in-process assembler stores for backends (recorded by the test context; the
// service publishes them to the outcome stream): when, with what, under which id.
describe('transfer outcomes', () => {
  let t: TestAssembler;
  let scheduler: AssemblyScheduler | undefined;
  afterEach(async () => {
    await scheduler?.stop(1_000);
    scheduler = undefined;
    await t?.close();
  });

  const start = async () => {
    t = await TestAssembler.create();
    const s = new AssemblyScheduler(t.ctx);
    t.ctx.requestAssembly = (key) => s.request(key);
    s.start();
    scheduler = s;
    return s;
  };

  it('complete: one outcome with location, size, checksum, under the id of the transfer', async () => {
    await start();
    const content = testBytes(1_234);
    const transfer = t.transfer();
    await transfer.upload(content, { name: 'report.csv' });
    await waitFor(() => t.outcomes.length > 0, { what: 'the outcome' });
    const record = await t.ctx.store.get(transfer.key);
    expect(t.outcomes).toEqual([
      {
        id: `complete.${transfer.key}.${record?.createdAt}`,
        kind: 'complete',
        key: transfer.key,
        clientId: transfer.id.clientId,
        fileId: transfer.id.fileId,
        name: 'report.csv',
        at: record?.completedAt,
        location: record?.location,
        size: 1_234,
        checksum: sha256(content),
        filemeta: { name: 'report.csv', size: 1_234 },
      },
    ]);
  });

  it('stored before the purge: a failed store leaves the segments, and the watchdog stores it', async () => {
    await start();
    const outcomes = t.ctx.outcomes;
    let failures = 0;
    t.ctx.outcomes = {
      publish: async (outcome) => {
        if (failures++ === 0) throw new Error('JetStream unavailable');
        await outcomes.publish(outcome);
      },
    };
    const transfer = t.transfer();
    await transfer.upload(testBytes(300));
    await waitFor(() => t.logged('outcome not stored; the due index retries it').length === 1, {
      what: 'the failed store',
    });
    expect((await t.ctx.store.get(transfer.key))?.state).toBe('complete');
    // Nothing was purged: were Redis lost now, a replay would complete the transfer again.
    expect(await t.storedMessages(transfer.key)).toBe(3);
    expect(await t.dueAt(transfer.key)).toBeGreaterThan(Date.now());
    await waitFor(async () => (await t.dueAt(transfer.key)) === undefined, {
      timeoutMs: 15_000,
      what: 'the watchdog done',
    });
    expect(t.outcomes).toEqual([expect.objectContaining({ kind: 'complete', key: transfer.key })]);
    expect(await t.storedMessages(transfer.key)).toBe(0);
    expect(await t.holdsQuota(transfer.key)).toBe(false);
  });

  it('aborted: stored before the abort is acked, the same id when the abort comes again', async () => {
    t = await TestAssembler.create();
    const transfer = t.transfer();
    await t.record(await transfer.init({ name: 'a.bin', size: 10 }));
    await t.record(await transfer.seg(0, testBytes(5)));
    expect(await t.record(await transfer.abort())).toBe('aborted');
    expect(await t.record(await transfer.abort())).toBe('aborted');
    const record = await t.ctx.store.get(transfer.key);
    const id = `aborted.${transfer.key}.${record?.createdAt}`;
    expect(t.outcomes.map((o) => [o.kind, o.id, o.name])).toEqual([
      ['aborted', id, 'a.bin'],
      ['aborted', id, 'a.bin'],
    ]);
  });

  it('an abort of a transfer nobody started stores no outcome', async () => {
    t = await TestAssembler.create();
    expect(await t.record(await t.transfer().abort())).toBe('aborted');
    expect(t.outcomes).toEqual([]);
  });
});
