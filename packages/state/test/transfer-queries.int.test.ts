import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferKey } from '@mqft/protocol';
import { sharedRedisUrl, uniqueName } from '@mqft/test-support';
import {
  createRedis,
  CreatedIndexes,
  StateEpoch,
  TransferQueries,
  TransferStore,
  transferKeys,
  type IndexCursor,
  type RedisClient,
} from '../src/index.js';

describe('TransferQueries on a real Redis', () => {
  let redis: RedisClient;
  let store: TransferStore;
  let queries: TransferQueries;
  let indexes: CreatedIndexes;
  const prefix = `${uniqueName('queries')}:`;
  const ttlMs = 60_000;

  async function seed(clientId: string, fileId: string, createdAt: number): Promise<string> {
    const key = transferKey({ clientId, fileId });
    const meta = JSON.stringify({ name: `${fileId}.bin` });
    await store.recordInit(key, {
      canonical: meta,
      filemetaJson: meta,
      name: `${fileId}.bin`,
      clientId,
      fileId,
      now: createdAt,
      ttlMs,
    });
    await indexes.indexTransfer(key, createdAt);
    return key;
  }

  async function scanAll(clientId: string | undefined, limit: number): Promise<string[]> {
    const keys: string[] = [];
    let after: IndexCursor | undefined;
    for (;;) {
      const scan = await queries.scanCreated({ clientId, after, limit });
      keys.push(...scan.entries.map((e) => e.record.key));
      after = scan.cursor;
      if (scan.done) return keys;
    }
  }

  beforeAll(() => {
    redis = createRedis(sharedRedisUrl());
    store = new TransferStore(redis, prefix);
    queries = new TransferQueries(redis, prefix);
    indexes = new CreatedIndexes(redis, prefix, { maxListed: 1000, maxListedPerClient: 1000 });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('reads one transfer and many, undefined for unknown ones', async () => {
    const key = await seed('q-dev', 'one', 1_000);
    expect(await queries.get(key)).toMatchObject({
      key,
      clientId: 'q-dev',
      fileId: 'one',
      state: 'receiving',
      name: 'one.bin',
      createdAt: 1_000,
    });
    const unknown = transferKey({ clientId: 'q-dev', fileId: 'nope' });
    const many = await queries.getMany([unknown, key]);
    expect(many[0]).toBeUndefined();
    expect(many[1]?.key).toBe(key);
    expect(await queries.getMany([])).toEqual([]);
  });

  it('fills the ids from the key for a transfer known only by an abort', async () => {
    const key = transferKey({ clientId: 'q-abort', fileId: 'bare' });
    await redis.hset(transferKeys(prefix, key).meta, 'state', 'aborted', 'createdAt', 5);
    expect(await queries.get(key)).toMatchObject({
      clientId: 'q-abort',
      fileId: 'bare',
      state: 'aborted',
    });
  });

  it('scans in (creation time, key) order across pages, ties included, without repeats', async () => {
    const seeded: [number, string][] = [];
    for (let i = 0; i < 23; i++) {
      // Many share a millisecond: the order among them is the key's (bytewise, as Redis has it).
      const createdAt = 10_000 + Math.floor(i / 5);
      seeded.push([createdAt, await seed('q-order', `f${i}`, createdAt)]);
    }
    const expected = seeded
      .sort(([a, x], [b, y]) => a - b || (x < y ? -1 : 1))
      .map(([, key]) => key);
    for (const limit of [1, 2, 4, 5, 7, 100]) {
      expect(await scanAll('q-order', limit)).toEqual(expected);
    }
    const all = await scanAll(undefined, 3);
    expect(all.filter((k) => expected.includes(k))).toEqual(expected);
  });

  it('skips entries whose transfer expired, and removes them from the index', async () => {
    const keep = await seed('q-stale', 'keep', 20_000);
    const gone = await seed('q-stale', 'gone', 20_001);
    const last = await seed('q-stale', 'last', 20_002);
    await redis.del(transferKeys(prefix, gone).meta);
    const first = await queries.scanCreated({ clientId: 'q-stale', limit: 2 });
    expect(first.entries.map((e) => e.record.key)).toEqual([keep]);
    expect(first.cursor).toEqual({ score: 20_001, key: gone });
    expect(first.done).toBe(false);
    const second = await queries.scanCreated({
      clientId: 'q-stale',
      after: first.cursor,
      limit: 2,
    });
    expect(second.entries.map((e) => [e.score, e.record.key])).toEqual([[20_002, last]]);
    expect(second.done).toBe(true);
    expect(await redis.zscore(queries.createdIndex('q-stale'), gone)).toBeNull();
    expect(await redis.zscore(queries.createdIndex(), gone)).not.toBeNull(); // the other index cleans itself when read
  });

  it('tells whether the state is whole, as the assemblers mark it', async () => {
    expect(await queries.stateIsWhole()).toBe(false);
    await new StateEpoch(redis, prefix).markWhole();
    expect(await queries.stateIsWhole()).toBe(true);
  });

  it('an empty index is done at once', async () => {
    expect(await queries.scanCreated({ clientId: 'q-nobody', limit: 10 })).toEqual({
      entries: [],
      cursor: undefined,
      done: true,
    });
  });
});
