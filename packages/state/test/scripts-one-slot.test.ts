import { describe, expect, it } from 'vitest';
import { transferKey } from '@mqft/protocol';
import {
  ALL_SCRIPTS,
  ClientQuotas,
  CreatedIndexes,
  DueIndex,
  RetentionIndex,
  retentionKeys,
  RebuildLock,
  TransferStore,
  type Lease,
  type RedisClient,
} from '../src/index.js';

/**
 * Redis Cluster runs a script only when all its keys hash to one slot. Every script of the
 * state package must therefore get the keys of ONE transfer (one `{key}` hash tag) or one
 * index key. A recording stand-in for Redis captures the keys each script call receives; the
 * real check against a Redis Cluster is test/cluster/data-path.int.test.ts. The stand-in has
 * nothing but scripts: a store that sent a plain command instead (a GET then a DEL, say)
 * fails here.
 */

/** A well-formed reply of each script (the decoders refuse anything else). */
const REPLIES: Record<string, unknown> = {
  mqftRecordSegment: ['recorded', ''],
  mqftRecordInit: ['created', 0],
  mqftRecordFin: ['waiting', '1000', 1],
  mqftRecordAbort: ['aborted', '', ''],
  mqftAcquireLease: ['acquired', '1', '0'],
  mqftRenewLease: 1,
  mqftReleaseLock: 1,
  mqftRecordUpload: 1,
  mqftAcquireProgressive: ['acquired', '1'],
  mqftClaimProgress: ['ok', '0', '10', '', '', ['1:10', '0']],
  mqftFinishProgressive: ['assembling', ''],
  mqftReleaseProgressive: 1,
  mqftCompleteTransfer: ['complete', ''],
  mqftCompleteStored: ['complete', ''],
  mqftReleaseTransfer: ['released', ''],
  mqftExpireFin: ['expired', ''],
  mqftRetryTransfer: ['retry', '1', '2000'],
  mqftFailTransfer: ['failed', '', ''],
  mqftAdmitTransfer: 1,
  mqftClaimDue: [],
  mqftIndexTransfer: 0,
  mqftScheduleDeletion: 1,
  mqftClaimDeletions: [],
  mqftFinishDeletion: 1,
  mqftMarkDeletion: 1,
  mqftForgetDeleted: 1,
  mqftMarkFileDeleted: ['deleted', 'complete'],
};

interface ScriptCallRecord {
  script: string;
  keys: string[];
}

/** What Redis Cluster hashes: the part inside the first `{…}` if non-empty, else the key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/** CRC16/XMODEM mod 16384, as Redis Cluster computes a key's slot. */
function slot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTag(key), 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

function recordingRedis(): { client: RedisClient; calls: ScriptCallRecord[] } {
  const calls: ScriptCallRecord[] = [];
  const target: Record<string, unknown> = {
    defineCommand(name: string, def: { numberOfKeys: number; lua: string }) {
      target[name] = (...args: (string | number)[]) => {
        calls.push({ script: name, keys: args.slice(0, def.numberOfKeys).map(String) });
        if (!(name in REPLIES)) return Promise.reject(new Error(`no reply for ${name}`));
        return Promise.resolve(REPLIES[name]);
      };
    },
  };
  return { client: target as unknown as RedisClient, calls };
}

describe('every script touches keys of one slot', () => {
  it('the slot function agrees with Redis on known values', () => {
    // From the Redis Cluster specification (CLUSTER KEYSLOT).
    expect(slot('123456789')).toBe(12739);
    expect(slot('foo')).toBe(12182);
    expect(slot('{user1000}.following')).toBe(slot('{user1000}.followers'));
  });

  it.each(['mqft:', 'tenant_a:mqft:', ''])(
    'each store method sends one-slot keys (prefix %j)',
    async (prefix) => {
      const { client, calls } = recordingRedis();
      const store = new TransferStore(client, prefix);
      const key = transferKey({ clientId: 'dev/ice-1', fileId: 'file{odd}.bin' });
      const lease: Lease = { key, token: 1, value: '1:me' };
      const now = 1_700_000_000_000;
      await store.recordSegment(key, {
        offset: 0,
        seq: 1,
        length: 10,
        now,
        ttlMs: 1000,
        create: true,
      });
      await store.recordInit(key, {
        canonical: '{}',
        filemetaJson: '{}',
        name: 'a',
        clientId: 'dev/ice-1',
        fileId: 'file{odd}.bin',
        now,
        ttlMs: 1000,
      });
      await store.recordFin(key, {
        size: 10,
        reply: 'r',
        now,
        ttlMs: 1000,
        clientId: 'dev/ice-1',
        fileId: 'file{odd}.bin',
        create: true,
      });
      await store.recordAbort(key, { now, ttlMs: 1000, clientId: 'c', fileId: 'f', create: true });
      await store.acquireLease(key, 'me', 1000, now);
      await store.renewLease(lease, 1000);
      await store.acquireProgressive(key, 'me', 1000, now);
      await store.claimProgress(lease, { epoch: undefined, after: undefined, pos: 0, limit: 10 });
      await store.finishProgressive(lease, { epoch: 0, size: 10, now });
      await store.releaseProgressive(lease, true);
      await store.recordUpload(lease, 'u');
      await store.complete(lease, { location: 'l', size: 10, checksum: 'c', now });
      await store.completeStored(key, { location: 'l', size: 10, checksum: 'c', now });
      await store.release(lease, { mode: 'reset', reason: 'x', now, missing: [[0, 1]] });
      await store.expireFin(key, now, now, [[0, 1]]);
      await store.retry(lease, { now, maxAttempts: 3, delayMs: 1000, maxDelayMs: 5000 });
      await store.fail(lease, { reason: 'assembly_failed', cause: 'invalid_data', now });
      await store.markFileDeleted(key, now);
      await new ClientQuotas(client, prefix).admit(key, now, now + 1000, 4);
      await new DueIndex(client, prefix).claimDue(now, 10, 1000);
      const lock = new RebuildLock(client, prefix);
      await lock.renew('me', 1000);
      await lock.release('me');
      await new CreatedIndexes(client, prefix, {
        maxListed: 5,
        maxListedPerClient: 5,
      }).indexTransfer(key, now);
      const retention = new RetentionIndex(client, prefix);
      const deletion = {
        key,
        clientId: 'c',
        fileId: 'f',
        name: 'n',
        size: 1,
        location: 'l',
        completedAt: now,
        createdAt: now,
        deleteAt: now,
      };
      await retention.schedule(deletion);
      await retention.claimDue(now, 10, 1000);
      await retention.finish({ key, claimUntil: now });
      await retention.forgetRecord(deletion);

      // Every script ran at least once, with the number of keys it declares.
      const ran = new Set(calls.map((c) => c.script));
      for (const script of ALL_SCRIPTS) {
        expect(ran, `${script.name} was not exercised`).toContain(script.name);
        for (const call of calls.filter((c) => c.script === script.name))
          expect(call.keys, script.name).toHaveLength(script.keys.length);
      }
      for (const call of calls) {
        expect(call.keys.length, call.script).toBeGreaterThan(0);
        for (const k of call.keys) expect(k.startsWith(prefix), `${call.script}: ${k}`).toBe(true);
        const tags = new Set(call.keys.map(hashTag));
        expect([...tags], `${call.script} spans hash tags: ${call.keys.join(' ')}`).toHaveLength(1);
        expect(new Set(call.keys.map(slot)).size, call.script).toBe(1);
      }
      // The transfer's scripts all share the transfer's own tag.
      const transferTag = hashTag(store.keys(key).meta);
      expect(transferTag).toBe(key);
      // (The retention index's two keys share a tag of their own.)
      const retentionTag = hashTag(retentionKeys(prefix).at);
      for (const call of calls.filter((c) => c.keys.length > 1))
        expect([transferTag, retentionTag], call.script).toContain(hashTag(call.keys[0] as string));
    },
  );

  it('different transfers get different tags (they spread over the cluster)', () => {
    const { client } = recordingRedis();
    const store = new TransferStore(client, 'mqft:');
    const slots = new Set(
      Array.from({ length: 50 }, (_, i) =>
        slot(store.keys(transferKey({ clientId: `d${i}`, fileId: 'f' })).meta),
      ),
    );
    expect(slots.size).toBeGreaterThan(40);
  });
});
