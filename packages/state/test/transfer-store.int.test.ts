import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferKey } from '@mqft/protocol';
import { sharedRedisUrl, uniqueName, waitFor } from '@mqft/test-support';
import {
  ClientQuotas,
  clientPartOf,
  COMPLETE_KEEP_MS,
  CreatedIndexes,
  createRedis,
  defineScript,
  DueIndex,
  RebuildLock,
  ScriptReplyError,
  ScriptRunner,
  TransferStore,
  type RedisClient,
} from '../src/index.js';

describe('TransferStore on a real Redis', () => {
  let redis: RedisClient;
  let store: TransferStore;
  const prefix = `${uniqueName('state')}:`;
  let n = 0;
  const freshKey = () => transferKey({ clientId: 'dev1', fileId: `f${n++}` });
  const now = () => Date.now();
  const ttlMs = 60_000;
  const init = (key: string, canonical = '{"name":"a"}') =>
    store.recordInit(key, {
      canonical,
      filemetaJson: canonical,
      name: 'a',
      clientId: 'dev1',
      fileId: 'f',
      now: now(),
      ttlMs,
    });
  const fin = (key: string, size: number) =>
    store.recordFin(key, {
      size,
      reply: 'r',
      now: now(),
      ttlMs,
      clientId: 'dev1',
      fileId: 'f',
      create: true,
    });
  const seg = async (key: string, offset: number, seq: number, length: number) =>
    (await store.recordSegment(key, { offset, seq, length, now: now(), ttlMs, create: true }))
      .status;

  beforeAll(() => {
    redis = createRedis(sharedRedisUrl());
    store = new TransferStore(redis, prefix);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('becomes ready only when init, fin and enough bytes are all recorded, in any order', async () => {
    const key = freshKey();
    expect(await seg(key, 5, 2, 5)).toBe('recorded');
    expect((await fin(key, 10)).status).toBe('waiting');
    expect((await init(key)).ready).toBe(false);
    expect(await seg(key, 0, 3, 5)).toBe('ready');
    const record = await store.get(key);
    expect(record).toMatchObject({
      state: 'receiving',
      bytes: 10,
      segCount: 2,
      finSize: 10,
      clientId: 'dev1',
    });
  });

  it('counts a redelivered or replaced segment once, the later stream sequence winning', async () => {
    const key = freshKey();
    const record = (seq: number, length: number) =>
      store.recordSegment(key, { offset: 0, seq, length, now: now(), ttlMs, create: true });
    expect(await record(10, 4)).toEqual({ status: 'recorded' });
    expect(await record(10, 4)).toEqual({ status: 'recorded' }); // redelivery: still referenced
    expect(await record(7, 9)).toEqual({ status: 'duplicate' }); // an older copy arriving late
    expect((await store.get(key))?.bytes).toBe(4);
    // A resend replaces, and names the copy it replaced (to be deleted from the stream).
    expect(await record(12, 6)).toEqual({ status: 'recorded', superseded: 10 });
    expect(await store.segments(key)).toEqual([{ offset: 0, seq: 12, length: 6 }]);
    expect((await store.get(key))?.bytes).toBe(6);
  });

  it('while assembling, a newer copy replaces the recorded one but does not name it for deletion', async () => {
    const key = freshKey();
    await init(key);
    await seg(key, 0, 3, 5);
    await fin(key, 5);
    expect((await store.acquireLease(key, 'A', 10_000, now())).status).toBe('acquired');
    const record = (seq: number) =>
      store.recordSegment(key, { offset: 0, seq, length: 5, now: now(), ttlMs, create: true });
    expect(await record(8)).toEqual({ status: 'recorded' }); // the assembly reads seq 3
    expect(await store.segments(key)).toEqual([{ offset: 0, seq: 8, length: 5 }]);
    expect(await record(6)).toEqual({ status: 'duplicate' });
  });

  it("a retransmitted fin keeps the first fin's time, from which the grace runs", async () => {
    const key = freshKey();
    expect(await store.finSize(key)).toBeUndefined();
    const at = (t: number) =>
      store.recordFin(key, {
        size: 8,
        reply: 'r',
        now: t,
        ttlMs,
        clientId: 'dev1',
        fileId: 'f',
        create: true,
      });
    expect(await at(1000)).toMatchObject({ status: 'waiting', finAt: 1000 });
    expect(await at(3000)).toMatchObject({ status: 'waiting', finAt: 1000 });
    expect((await store.get(key))?.finAt).toBe(1000);
    expect(await store.finSize(key)).toBe(8);
  });

  it('a repeated init with the same metadata resumes; different metadata conflicts', async () => {
    const key = freshKey();
    expect((await init(key)).status).toBe('created');
    expect((await init(key)).status).toBe('same');
    expect((await init(key, '{"name":"b"}')).status).toBe('conflict');
  });

  it('leases are exclusive, fenced and complete the transfer once', async () => {
    const key = freshKey();
    await init(key);
    await seg(key, 0, 1, 3);
    await fin(key, 3);
    const first = await store.acquireLease(key, 'A', 10_000, now());
    expect(first.status).toBe('acquired');
    expect((await store.acquireLease(key, 'B', 10_000, now())).status).toBe('busy');
    if (first.status !== 'acquired') throw new Error('no lease');
    expect(await store.renewLease(first.lease, 10_000)).toBe(true);
    expect(await store.renewLease({ ...first.lease, value: '99:X' }, 10_000)).toBe(false);
    const done = await store.complete(first.lease, {
      location: 'file:///x',
      size: 3,
      checksum: 'c',
      now: now(),
    });
    expect(done).toEqual({ status: 'complete', finReply: 'r' });
    expect(
      await store.complete(first.lease, {
        location: 'file:///x',
        size: 3,
        checksum: 'c',
        now: now(),
      }),
    ).toEqual({ status: 'lost', finReply: '' });
    expect(await fin(key, 3)).toEqual({ status: 'complete', location: 'file:///x' });
    expect(await seg(key, 0, 5, 3)).toBe('complete');
    expect(await store.segments(key)).toEqual([]);
  });

  it("marks a complete transfer's file deleted once: no location, still complete; nothing else", async () => {
    const busy = freshKey();
    await init(busy);
    expect(await store.markFileDeleted(busy, now())).toEqual({
      status: 'not_complete',
      text: 'receiving',
    });
    expect(await store.markFileDeleted(freshKey(), now())).toEqual({
      status: 'not_complete',
      text: '',
    });
    const key = freshKey();
    await init(key);
    await seg(key, 0, 1, 3);
    await fin(key, 3);
    const lease = await store.acquireLease(key, 'A', 10_000, now());
    if (lease.status !== 'acquired') throw new Error('no lease');
    await store.complete(lease.lease, {
      location: 'file:///x',
      size: 3,
      checksum: 'c',
      now: now(),
    });
    const at = now() + 5;
    expect(await store.markFileDeleted(key, at)).toEqual({ status: 'deleted', text: 'complete' });
    const record = await store.get(key);
    expect(record).toMatchObject({ state: 'complete', deletedAt: at, updatedAt: at, size: 3 });
    expect(record?.location).toBeUndefined();
    expect(await store.markFileDeleted(key, at + 1)).toEqual({
      status: 'already',
      text: 'complete',
    });
    expect((await store.get(key))?.updatedAt).toBe(at);
    // A device that sends its fin again still hears "complete".
    expect(await fin(key, 3)).toEqual({ status: 'complete', location: '' });
  });

  it('an expired lease can be taken over with a higher fencing token', async () => {
    const key = freshKey();
    await init(key);
    await fin(key, 0);
    const first = await store.acquireLease(key, 'A', 50, now());
    // B gets it once A's 50 ms have run out.
    let second: Awaited<ReturnType<typeof store.acquireLease>> | undefined;
    await waitFor(
      async () =>
        (second = await store.acquireLease(key, 'B', 10_000, now())).status === 'acquired',
      { what: "B's lease after A's expired" },
    );
    if (first.status !== 'acquired' || second?.status !== 'acquired') throw new Error('no lease');
    expect(second.lease.token).toBeGreaterThan(first.lease.token);
    expect(
      (await store.complete(first.lease, { location: 'l', size: 0, checksum: 'c', now: now() }))
        .status,
    ).toBe('lost');
    expect(
      (await store.complete(second.lease, { location: 'l', size: 0, checksum: 'c', now: now() }))
        .status,
    ).toBe('complete');
  });

  it('completeStored completes a receiving, unleased transfer only (file already in storage)', async () => {
    const done = { location: 'file:///x', size: 3, checksum: 'c', now: now() };
    // Rebuilt partly by a replay: init and a segment, its fin purged.
    const partial = freshKey();
    await init(partial);
    await seg(partial, 0, 1, 3);
    expect(await store.completeStored(partial, done)).toEqual({ status: 'complete', finReply: '' });
    expect(await store.get(partial)).toMatchObject({ state: 'complete', location: 'file:///x' });
    expect(await store.segments(partial)).toEqual([]);
    expect((await store.completeStored(partial, done)).status).toBe('skipped');
    // A waiting fin gets its reply back, to be answered.
    const waiting = freshKey();
    await init(waiting);
    await fin(waiting, 3);
    expect(await store.completeStored(waiting, done)).toEqual({
      status: 'complete',
      finReply: 'r',
    });
    // A leased transfer belongs to its assembly.
    const leased = freshKey();
    await init(leased);
    await seg(leased, 0, 1, 3);
    await fin(leased, 3);
    expect((await store.acquireLease(leased, 'A', 10_000, now())).status).toBe('acquired');
    expect((await store.completeStored(leased, done)).status).toBe('skipped');
    expect((await store.get(leased))?.state).toBe('assembling');
  });

  it('release modes: wait keeps the fin, fail_fin drops it, reset drops segments too', async () => {
    const key = freshKey();
    await init(key);
    await seg(key, 0, 1, 5);
    await fin(key, 5);
    const take = async () => {
      const r = await store.acquireLease(key, 'A', 10_000, now());
      if (r.status !== 'acquired') throw new Error(`not acquired: ${r.status}`);
      return r.lease;
    };
    await store.release(await take(), { mode: 'wait', reason: 'x', now: now() });
    expect((await store.get(key))?.finSize).toBe(5);
    await store.release(await take(), {
      mode: 'fail_fin',
      reason: 'incomplete',
      now: now(),
      missing: [[1, 2]],
    });
    expect(await store.get(key)).toMatchObject({
      state: 'receiving',
      errorReason: 'incomplete',
      missing: [[1, 2]],
      bytes: 5,
    });
    expect((await store.get(key))?.finSize).toBeUndefined();
    await fin(key, 5);
    await store.release(await take(), { mode: 'reset', reason: 'checksum_mismatch', now: now() });
    expect(await store.get(key)).toMatchObject({ state: 'receiving', bytes: 0, segCount: 0 });
    expect(await store.segments(key)).toEqual([]);
  });

  it('after a reset, a late copy of a purged segment is not recorded; a resend is', async () => {
    const key = freshKey();
    await init(key);
    await seg(key, 0, 7, 5);
    await fin(key, 5);
    const taken = await store.acquireLease(key, 'A', 10_000, now());
    if (taken.status !== 'acquired') throw new Error(`not acquired: ${taken.status}`);
    await store.release(taken.lease, {
      mode: 'reset',
      reason: 'segments_lost',
      now: now(),
      seqFloor: 8,
    });
    // A redelivery of stream message 7 (being purged) arrives after the reset.
    expect(await seg(key, 0, 7, 5)).toBe('duplicate');
    expect(await store.segments(key)).toEqual([]);
    expect(await store.get(key)).toMatchObject({ bytes: 0, segCount: 0 });
    // The device's resend lands above the floor.
    expect(await seg(key, 0, 9, 5)).toBe('recorded');
    expect(await store.segments(key)).toEqual([{ offset: 0, seq: 9, length: 5 }]);
  });

  it('abort is sticky: later init, fin and segments are refused', async () => {
    const key = freshKey();
    await init(key);
    await seg(key, 0, 1, 5);
    expect(
      (
        await store.recordAbort(key, {
          now: now(),
          ttlMs,
          clientId: 'dev1',
          fileId: 'f',
          create: true,
        })
      ).status,
    ).toBe('aborted');
    expect((await init(key)).status).toBe('aborted');
    expect((await fin(key, 5)).status).toBe('aborted');
    expect(await seg(key, 0, 2, 5)).toBe('aborted');
    expect(await store.segments(key)).toEqual([]);
  });

  it('expireFin answers a fin once, and only the fin it saw', async () => {
    const key = freshKey();
    await init(key);
    await fin(key, 10);
    const finAt = (await store.get(key))?.finAt ?? 0;
    expect((await store.expireFin(key, finAt, now(), [[0, 10]])).status).toBe('expired');
    expect((await store.expireFin(key, finAt, now(), [[0, 10]])).status).toBe('stale');
    expect(await store.get(key)).toMatchObject({ missing: [[0, 10]], errorReason: 'incomplete' });
  });

  it('the quota admits up to the limit, counts a transfer once, and frees on release', async () => {
    const keys = [0, 1, 2].map(() => freshKey());
    const quotas = new ClientQuotas(redis, prefix);
    const t = now();
    expect(await quotas.admit(keys[0] as string, t, t + ttlMs, 2)).toBe(true);
    expect(await quotas.admit(keys[0] as string, t, t + ttlMs, 2)).toBe(true);
    expect(await quotas.admit(keys[1] as string, t, t + ttlMs, 2)).toBe(true);
    expect(await quotas.admit(keys[2] as string, t, t + ttlMs, 2)).toBe(false);
    await quotas.release(keys[0] as string);
    expect(await quotas.admit(keys[2] as string, t, t + ttlMs, 2)).toBe(true);
  });

  it('due entries are claimed by one sweeper at a time', async () => {
    const key = freshKey();
    const due = new DueIndex(redis, prefix);
    await due.scheduleCheck(key, now() - 1);
    const first = await due.claimDue(now(), 1000, 5000);
    expect(first).toContain(key);
    expect(await due.claimDue(now(), 1000, 5000)).not.toContain(key);
    await due.unschedule(key);
  });

  it('the rebuild lock is released only by its holder, in one compare-and-delete', async () => {
    const lockKey = `${prefix}state:rebuild`;
    const a = new RebuildLock(redis, prefix);
    expect(await a.take('A', 60_000)).toBe(true);
    expect(await a.take('B', 60_000)).toBe(false);
    expect(await a.release('B')).toBe(false);
    expect(await redis.get(lockKey)).toBe('A');
    expect(await a.release('A')).toBe(true);
    expect(await redis.get(lockKey)).toBeNull();
    // A's lock lapsed and B took it: A's late release must leave B's lock alone.
    expect(await a.take('A', 1)).toBe(true);
    await redis.pexpire(lockKey, 0);
    expect(await a.take('B', 60_000)).toBe(true);
    expect(await a.release('A')).toBe(false);
    expect(await redis.get(lockKey)).toBe('B');
    expect(await a.renew('A', 60_000)).toBe(false);
    expect(await a.renew('B', 60_000)).toBe(true);
    expect(await a.release('B')).toBe(true);
  });

  it('reads ids from the key when a record lacks either of them', async () => {
    const key = transferKey({ clientId: 'dev1', fileId: 'bare' });
    const { meta } = store.keys(key);
    await redis.hset(meta, { state: 'aborted', clientId: 'dev1' });
    expect(await store.get(key)).toMatchObject({ clientId: 'dev1', fileId: 'bare' });
    await redis.hset(meta, { fileId: 'bare' });
    await redis.hdel(meta, 'clientId');
    expect(await store.get(key)).toMatchObject({ clientId: 'dev1', fileId: 'bare' });
  });

  it('passes keys and arguments by name, and refuses a reply its decoder does not allow', async () => {
    const echo = defineScript({
      name: 'mqftTestEcho',
      keys: ['first', 'second'],
      argv: ['a', 'b', 'c'],
      body: `return {A.a, K.first .. '|' .. K.second, A.a .. A.b .. A.c}`,
      decode: (r) => {
        const [status, keys, args] = r.list(3);
        return { status: r.oneOf(status, ['1']), keys: r.text(keys), args: r.text(args) };
      },
    });
    const bogus = defineScript({
      name: 'mqftTestBogus',
      keys: ['k'],
      argv: [],
      body: `return {'finished', ''}`,
      decode: (r) => r.oneOf(r.list(2)[0], ['recorded', 'ready']),
    });
    const run = new ScriptRunner(redis, [echo, bogus]);
    const first = `${prefix}{k}:1`;
    const second = `${prefix}{k}:2`;
    expect(await run.run(echo, { second, first }, { c: 3, b: '2', a: 1 })).toEqual({
      status: '1',
      keys: `${first}|${second}`,
      args: '123',
    });
    await expect(run.run(bogus, { k: first }, {})).rejects.toBeInstanceOf(ScriptReplyError);
  });

  it('creates nothing for a transfer it does not know unless told to (the quota admitted it)', async () => {
    const key = freshKey();
    const t = now();
    const id = { clientId: 'dev1', fileId: 'f' };
    const seg = { offset: 0, seq: 1, length: 5, now: t, ttlMs };
    const fin = { size: 5, reply: 'r', now: t, ttlMs, ...id };
    expect(await store.recordSegment(key, { ...seg, create: false })).toEqual({
      status: 'unknown',
    });
    expect(await store.recordFin(key, { ...fin, create: false })).toEqual({ status: 'unknown' });
    expect(await store.recordAbort(key, { now: t, ttlMs, ...id, create: false })).toEqual({
      status: 'unknown',
    });
    expect(await redis.exists(store.keys(key).meta, store.keys(key).segs)).toBe(0);
    // Created when told to; from then on known, so `create` no longer matters.
    expect((await store.recordSegment(key, { ...seg, create: true })).status).toBe('recorded');
    expect((await store.recordFin(key, { ...fin, create: false })).status).toBe('waiting');
    // A state without init lives for the TTL it was given, until init gives its own.
    const orphanTtl = await redis.pttl(store.keys(key).meta);
    expect(orphanTtl).toBeGreaterThan(0);
    expect(orphanTtl).toBeLessThanOrEqual(ttlMs);
  });

  it('the quota set lives as long as its last-lapsing entry', async () => {
    const quotas = new ClientQuotas(redis, prefix);
    const long = transferKey({ clientId: 'dev-q', fileId: 'long' });
    const short = transferKey({ clientId: 'dev-q', fileId: 'short' });
    const t = now();
    expect(await quotas.admit(long, t, t + 600_000, 2)).toBe(true);
    expect(await quotas.admit(short, t, t + 5_000, 2)).toBe(true);
    const active = `${prefix}client:{${long.slice(0, long.indexOf('.'))}}:active`;
    expect(await redis.pttl(active)).toBeGreaterThan(500_000);
  });

  it('keeps each created index to its newest entries, and lets a client index lapse', async () => {
    const indexes = new CreatedIndexes(redis, prefix, { maxListed: 5, maxListedPerClient: 3 });
    const keys = Array.from({ length: 8 }, (_, i) =>
      transferKey({ clientId: 'dev-idx', fileId: `i${i}` }),
    );
    for (const [i, key] of keys.entries()) await indexes.indexTransfer(key, 1000 + i);
    expect(await redis.zrange(`${prefix}idx:created`, 0, -1)).toEqual(keys.slice(3));
    const clientIndex = `${prefix}client:{${clientPartOf(keys[0] as string)}}:created`;
    expect(await redis.zrange(clientIndex, 0, -1)).toEqual(keys.slice(5));
    const ttl = await redis.pttl(clientIndex);
    expect(ttl).toBeGreaterThan(COMPLETE_KEEP_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(COMPLETE_KEEP_MS);
    // Listing again keeps the first time, so the order stays stable.
    await indexes.indexTransfer(keys[7] as string, 99_999);
    expect(await redis.zscore(clientIndex, keys[7] as string)).toBe('1007');
  });
});
