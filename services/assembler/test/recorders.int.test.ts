import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleTransfer } from '../src/assemble.js';
import type { LeasedAtFin } from '../src/context.js';
import { TestAssembler, testBytes } from './context.js';

// Each recorder against a real TransferStore and stream; results, events and assembly
// requests are the outputs asserted.
describe('recorders', () => {
  let t: TestAssembler;

  beforeAll(async () => {
    t = await TestAssembler.create({ config: { maxActiveTransfers: 2, finGrace: 60_000 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Records a whole upload and assembles it: the transfer is complete. */
  async function completed(content = testBytes(10)) {
    const transfer = t.transfer();
    await transfer.upload(content, { segmentSize: 5 });
    const lease = await t.lease(transfer.key);
    const record = await t.ctx.store.get(transfer.key);
    if (!record) throw new Error('no record');
    expect(await assembleTransfer(t.ctx, lease, record, new AbortController().signal)).toBe(
      'complete',
    );
    await t.ctx.purger.settled();
    return transfer;
  }

  describe('init', () => {
    it('creates the transfer: success, an event, a quota slot, the metadata recorded', async () => {
      const transfer = t.transfer();
      const meta = { name: 'report.csv', size: 12, user_data: { a: 1 } };
      expect(await t.record(await transfer.init(meta))).toBe('created');
      expect(t.resultsFor(transfer.key, 'init')).toEqual([{ reason: 'success' }]);
      expect(t.events.filter((e) => e.key === transfer.key)).toEqual([
        { key: transfer.key, state: 'receiving' },
      ]);
      expect(await t.holdsQuota(transfer.key)).toBe(true);
      expect(await t.ctx.store.get(transfer.key)).toMatchObject({
        state: 'receiving',
        name: 'report.csv',
        declaredSize: 12,
        filemeta: JSON.stringify(meta),
        clientId: transfer.id.clientId,
        fileId: transfer.id.fileId,
      });
      expect(t.requested).not.toContain(transfer.key);
    });

    it('resumes with the same metadata: success again, no second event', async () => {
      const transfer = t.transfer();
      expect(await t.record(await transfer.init({ name: 'a.bin' }))).toBe('created');
      expect(await t.record(await transfer.init({ name: 'a.bin' }))).toBe('resumed');
      expect(t.resultsFor(transfer.key, 'init')).toEqual([
        { reason: 'success' },
        { reason: 'success' },
      ]);
      expect(t.events.filter((e) => e.key === transfer.key)).toHaveLength(1);
    });

    it('refuses different metadata for the same transfer: filemeta_conflict', async () => {
      const transfer = t.transfer();
      await t.record(await transfer.init({ name: 'a.bin' }));
      expect(await t.record(await transfer.init({ name: 'b.bin' }))).toBe('filemeta_conflict');
      expect(t.resultsFor(transfer.key, 'init')).toEqual([
        { reason: 'success' },
        { reason: 'filemeta_conflict' },
      ]);
      expect((await t.ctx.store.get(transfer.key))?.name).toBe('a.bin');
    });

    it('refuses a client at its quota of active transfers: quota_exceeded, nothing recorded', async () => {
      const [a, b, c] = [1, 2, 3].map(() => t.transfer({ clientId: 'quota-client' }));
      expect(await t.record(await a!.init())).toBe('created');
      expect(await t.record(await b!.init())).toBe('created');
      expect(await t.record(await c!.init())).toBe('quota_exceeded');
      expect(t.resultsFor(c!.key, 'init')).toEqual([{ reason: 'quota_exceeded' }]);
      expect(await t.ctx.store.get(c!.key)).toBeUndefined();
      expect(await t.holdsQuota(c!.key)).toBe(false);
    });

    it('refuses a key the storage can never hold: invalid_fileid, nothing recorded', async () => {
      // Each % is escaped to %25 in the path: 90 bytes of fileId become a 270-byte component.
      const transfer = t.transfer({ fileId: '%'.repeat(90) });
      expect(await t.record(await transfer.init())).toBe('invalid_fileid');
      expect(t.resultsFor(transfer.key, 'init')).toEqual([{ reason: 'invalid_fileid' }]);
      expect(await t.ctx.store.get(transfer.key)).toBeUndefined();
      expect(await t.holdsQuota(transfer.key)).toBe(false);
      expect(t.logged('init refused: unstorable key')).toHaveLength(1);
    });

    it('answers unreadable metadata with its protocol reason', async () => {
      const transfer = t.transfer();
      expect(await t.record(await transfer.initRaw(Buffer.from('{"name":')))).toBe(
        'invalid_filemeta_json',
      );
      expect(t.resultsFor(transfer.key, 'init')).toEqual([{ reason: 'invalid_filemeta_json' }]);
      expect(await t.ctx.store.get(transfer.key)).toBeUndefined();
    });

    it('asks for an assembly when it is the last fact missing', async () => {
      const transfer = t.transfer();
      await t.record(await transfer.seg(0, testBytes(4)));
      expect(await t.record(await transfer.fin(4))).toBe('waiting');
      expect(t.requested).not.toContain(transfer.key);
      expect(await t.record(await transfer.init())).toBe('created');
      expect(t.requested).toEqual(expect.arrayContaining([transfer.key]));
    });

    it('answers a late init of a complete transfer with success and frees the slot it took', async () => {
      const transfer = await completed();
      expect(await t.holdsQuota(transfer.key)).toBe(false);
      expect(await t.record(await transfer.init({ name: 'data.bin', size: 10 }))).toBe('complete');
      expect(t.resultsFor(transfer.key, 'init').at(-1)).toEqual({ reason: 'success' });
      expect(await t.holdsQuota(transfer.key)).toBe(false);
    });
  });

  describe('segment', () => {
    it('records where the bytes are', async () => {
      const transfer = t.transfer();
      const seg = await transfer.seg(100, testBytes(7));
      expect(await t.record(seg)).toBe('recorded');
      expect(await t.ctx.store.segments(transfer.key)).toEqual([
        { offset: 100, seq: seg.stored.seq, length: 7 },
      ]);
      expect(t.requested).not.toContain(transfer.key);
    });

    it('asks for an assembly when the last bytes arrive', async () => {
      const transfer = t.transfer();
      await t.record(await transfer.init());
      await t.record(await transfer.seg(0, testBytes(5)));
      expect(await t.record(await transfer.fin(8))).toBe('waiting');
      expect(await t.record(await transfer.seg(5, testBytes(3)))).toBe('recorded');
      expect(t.requested.filter((k) => k === transfer.key)).toHaveLength(1);
    });

    it('an older copy arriving after a newer one is a duplicate, not recorded', async () => {
      const transfer = t.transfer();
      const older = await transfer.seg(0, testBytes(5, 1));
      const newer = await transfer.seg(0, testBytes(5, 2));
      expect(await t.record(newer)).toBe('recorded');
      expect(await t.record(older)).toBe('duplicate');
      expect(await t.ctx.store.segments(transfer.key)).toEqual([
        { offset: 0, seq: newer.stored.seq, length: 5 },
      ]);
    });

    it('a newer copy replaces the recorded one, which is deleted from the stream', async () => {
      const transfer = t.transfer();
      const older = await transfer.seg(0, testBytes(5, 1));
      const newer = await transfer.seg(0, testBytes(6, 2));
      expect(await t.record(older)).toBe('recorded');
      expect(await t.record(newer)).toBe('recorded');
      expect(await t.ctx.store.segments(transfer.key)).toEqual([
        { offset: 0, seq: newer.stored.seq, length: 6 },
      ]);
      expect(await t.holds(older.stored.seq)).toBe(false);
      expect(await t.holds(newer.stored.seq)).toBe(true);
    });

    it('the same stream message recorded again (a new durable replays the stream) changes nothing', async () => {
      // docs/operations.md "Upgrading": the headers-only durable delivers what the earlier one
      // recorded again. The recorded copy must stay recorded and referenced: 'duplicate' would
      // have the consumer delete it.
      const transfer = t.transfer();
      const init = await transfer.init({ name: 'a.bin', size: 13 });
      const segs = [await transfer.seg(0, testBytes(5)), await transfer.seg(5, testBytes(7))];
      const fin = await transfer.fin(13);
      const first = [];
      for (const c of [init, ...segs, fin]) first.push(await t.record(c));
      const before = await t.ctx.store.get(transfer.key);
      const again = [];
      for (const c of [init, ...segs, fin]) again.push(await t.record(c));
      expect(first).toEqual(['created', 'recorded', 'recorded', 'waiting']);
      expect(again).toEqual(['resumed', 'recorded', 'recorded', 'waiting']);
      expect(await t.ctx.store.get(transfer.key)).toMatchObject({
        bytes: before?.bytes,
        state: 'receiving',
      });
      expect(await t.ctx.store.segments(transfer.key)).toEqual([
        { offset: 0, seq: segs[0]?.stored.seq, length: 5 },
        { offset: 5, seq: segs[1]?.stored.seq, length: 7 },
      ]);
    });

    it('is ignored once the transfer is complete', async () => {
      const transfer = await completed();
      expect(await t.record(await transfer.seg(0, testBytes(5)))).toBe('ignored_complete');
      expect((await t.ctx.store.get(transfer.key))?.state).toBe('complete');
    });
  });

  describe('fin', () => {
    it('ready: asks for an assembly, arms the lease watchdog, answers nothing yet', async () => {
      const transfer = t.transfer();
      await t.record(await transfer.init());
      await t.record(await transfer.seg(0, testBytes(10)));
      const before = Date.now();
      expect(await t.record(await transfer.fin(10))).toBe('ready');
      expect(t.requested).toEqual(expect.arrayContaining([transfer.key]));
      const due = await t.dueAt(transfer.key);
      expect(due).toBeGreaterThanOrEqual(before + t.config.leaseTtl);
      expect(due).toBeLessThanOrEqual(Date.now() + t.config.leaseTtl);
      expect(t.resultsFor(transfer.key, 'fin')).toEqual([]);
    });

    it('ready, with room reserved here: leases it in the same script and hands over what the assembly reads', async () => {
      const transfer = t.transfer();
      await t.record(await transfer.init({ name: 'data.bin', size: 10 }));
      const seg = await transfer.seg(0, testBytes(10));
      await t.record(seg);
      const handed: LeasedAtFin[] = [];
      const reserved: { key: string; size: number }[] = [];
      let cancelled = 0;
      t.ctx.assemblyAtFin = {
        reserve: (key, size) => {
          reserved.push({ key, size });
          // As the scheduler's: cancel() does nothing once run() was called.
          return {
            run: (leased) => void handed.push(leased),
            cancel: () => void (handed.length === 0 && cancelled++),
          };
        },
      };
      try {
        const before = Date.now();
        const fin = await transfer.fin(10);
        expect(await t.record(fin)).toBe('ready');
        expect(reserved).toEqual([{ key: transfer.key, size: 10 }]);
        expect(cancelled).toBe(0);
        expect(handed).toHaveLength(1);
        const [leased] = handed as [LeasedAtFin];
        expect(leased.lease.key).toBe(transfer.key);
        expect(leased.deaths).toBe(0);
        expect(leased.record).toMatchObject({ state: 'assembling', finSize: 10, name: 'data.bin' });
        expect(leased.segments).toEqual([{ offset: 0, seq: seg.stored.seq, length: 10 }]);
        expect(leased.finSeq).toBe(fin.stored.seq);
        // The lease is the one Redis holds: renewing it works, another cannot take it.
        expect(await t.ctx.store.renewLease(leased.lease, t.config.leaseTtl)).toBe(true);
        const other = await t.ctx.store.acquireLease(transfer.key, 'other', 1000, Date.now());
        expect(other.status).toBe('busy');
        // The watchdog for a holder that dies, written before the fin is acked.
        expect(await t.dueAt(transfer.key)).toBeGreaterThanOrEqual(before + 2 * t.config.leaseTtl);
        expect(t.requested).not.toContain(transfer.key);
      } finally {
        t.ctx.assemblyAtFin = undefined;
      }
    });

    it('not ready, with room reserved: gives the room back and only records', async () => {
      const transfer = t.transfer();
      await t.record(await transfer.init());
      let cancelled = 0;
      t.ctx.assemblyAtFin = {
        reserve: () => ({
          run: () => {
            throw new Error('not leased');
          },
          cancel: () => void cancelled++,
        }),
      };
      try {
        expect(await t.record(await transfer.fin(10))).toBe('waiting');
        expect(cancelled).toBe(1);
        expect((await t.ctx.store.get(transfer.key))?.state).toBe('receiving');
      } finally {
        t.ctx.assemblyAtFin = undefined;
      }
    });

    it('lists the transfer in the created indexes only when no init did', async () => {
      const indexed: string[] = [];
      const indexTransfer = t.ctx.indexes.indexTransfer.bind(t.ctx.indexes);
      t.ctx.indexes.indexTransfer = (key, createdAt) => {
        indexed.push(key);
        return indexTransfer(key, createdAt);
      };
      try {
        const withInit = t.transfer();
        await t.record(await withInit.init());
        expect(await t.record(await withInit.fin(10))).toBe('waiting');
        expect(indexed).toEqual([withInit.key]);
        const finOnly = t.transfer();
        expect(await t.record(await finOnly.fin(10))).toBe('waiting');
        expect(indexed).toEqual([withInit.key, finOnly.key]);
      } finally {
        t.ctx.indexes.indexTransfer = indexTransfer;
      }
    });

    it('assembling: a fin (redelivered after its holder died) arms the lease watchdog if none is', async () => {
      const transfer = t.transfer();
      await t.record(await transfer.init());
      await t.record(await transfer.seg(0, testBytes(10)));
      await t.record(await transfer.fin(10));
      await t.lease(transfer.key);
      await t.ctx.due.unschedule(transfer.key);
      const before = Date.now();
      expect(await t.record(await transfer.fin(10))).toBe('assembling');
      expect(await t.dueAt(transfer.key)).toBeGreaterThanOrEqual(before + 2 * t.config.leaseTtl);
      // Never later than a look already due.
      await t.ctx.due.scheduleCheck(transfer.key, 5);
      expect(await t.record(await transfer.fin(10))).toBe('assembling');
      expect(await t.dueAt(transfer.key)).toBe(5);
    });

    it('waiting: due when the grace of the FIRST fin runs out; a resent fin does not push it back', async () => {
      const transfer = t.transfer();
      await t.record(await transfer.init());
      expect(await t.record(await transfer.fin(10))).toBe('waiting');
      const finAt = (await t.ctx.store.get(transfer.key))?.finAt;
      expect(finAt).toBeDefined();
      expect(await t.dueAt(transfer.key)).toBe(finAt! + t.config.finGrace);
      await t.ctx.due.scheduleCheck(transfer.key, 1); // the resent fin must set it again
      expect(await t.record(await transfer.fin(10))).toBe('waiting');
      expect(await t.dueAt(transfer.key)).toBe(finAt! + t.config.finGrace);
      expect(t.requested).not.toContain(transfer.key);
      expect(t.resultsFor(transfer.key, 'fin')).toEqual([]);
    });

    it('answers a fin for a complete transfer at once, with its location', async () => {
      const transfer = await completed();
      const { location } = (await t.ctx.store.get(transfer.key)) ?? {};
      expect(location).toMatch(/^file:\/\//);
      const answered = t.resultsFor(transfer.key, 'fin').length;
      expect(await t.record(await transfer.fin(10))).toBe('complete');
      expect(t.resultsFor(transfer.key, 'fin').slice(answered)).toEqual([
        { reason: 'success', location },
      ]);
    });

    it('answers a fin for an aborted transfer with aborted', async () => {
      const transfer = t.transfer();
      await t.record(await transfer.init());
      await t.record(await transfer.abort());
      expect(await t.record(await transfer.fin(10))).toBe('aborted');
      expect(t.resultsFor(transfer.key, 'fin')).toEqual([{ reason: 'aborted' }]);
    });

    it('a stored fin without a reply is invalid and answers nobody', async () => {
      const transfer = t.transfer();
      const fin = await t.publish({ kind: 'fin', key: transfer.key, size: 3 });
      expect(await t.record(fin)).toBe('invalid');
      expect(t.results.filter((r) => r.key === transfer.key)).toEqual([]);
      expect(await t.ctx.store.get(transfer.key)).toBeUndefined();
    });
  });

  describe('abort', () => {
    it('purges the transfer, frees its slot, answers the waiting fin and the abort', async () => {
      const transfer = t.transfer();
      await t.record(await transfer.init());
      await t.record(await transfer.seg(0, testBytes(5)));
      expect(await t.record(await transfer.fin(10))).toBe('waiting');
      const abort = await transfer.abort();
      expect(await t.record(abort)).toBe('aborted');
      // Everything before the abort is gone from the stream; the abort itself is left to the
      // consumer (outcome 'aborted' deletes it).
      expect(await t.storedMessages(transfer.key)).toBe(1);
      expect(await t.holds(abort.stored.seq)).toBe(true);
      expect(
        t.results.filter((r) => r.key === transfer.key).map((r) => [r.reply.deviceTopic, r.result]),
      ).toEqual([
        [`$file/${transfer.id.fileId}/init`, { reason: 'success' }],
        [`$file/${transfer.id.fileId}/fin`, { reason: 'aborted' }],
        [`$file/${transfer.id.fileId}/abort`, { reason: 'success' }],
      ]);
      expect(t.events.filter((e) => e.key === transfer.key).at(-1)).toEqual({
        key: transfer.key,
        state: 'aborted',
      });
      expect(await t.holdsQuota(transfer.key)).toBe(false);
      expect(await t.dueAt(transfer.key)).toBeUndefined();
      expect(await t.ctx.store.get(transfer.key)).toMatchObject({ state: 'aborted', bytes: 0 });
      expect(await t.ctx.store.segments(transfer.key)).toEqual([]);
      // A segment still coming tells its device (ingest answered it success when durable).
      expect(await t.record(await transfer.segWithReply(5, testBytes(5)))).toBe('ignored_aborted');
      expect(t.resultsFor(transfer.key, 5)).toEqual([{ reason: 'aborted' }]);
    });

    it('leaves a complete transfer complete, and still answers success', async () => {
      const transfer = await completed();
      expect(await t.record(await transfer.abort())).toBe('complete');
      expect(t.resultsFor(transfer.key, 'abort')).toEqual([{ reason: 'success' }]);
      expect((await t.ctx.store.get(transfer.key))?.state).toBe('complete');
    });
  });
});
