import type { Redis } from 'ioredis';
import { parseTransferKey } from '@mqft/protocol';
import {
  clientActiveKey,
  clientCreatedIndexKey,
  createdIndexKey,
  dueIndexKey,
  rebuildLockKey,
  stateEpochKey,
  transferKeys,
} from './keys.js';
import type { RedisClient } from './redis.js';
import * as scripts from './scripts.js';
import { ALL_SCRIPTS, type ScriptDefinition } from './scripts.js';
import {
  parseSegmentMap,
  parseTransferRecord,
  type SegmentLocation,
  type TransferRecord,
} from './transfer-record.js';

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

export interface Lease {
  key: string;
  token: number;
  /** The exact lease value, compared by every fenced script. */
  value: string;
}

const COMPLETE_KEEP_MS = 7 * 24 * 3600_000;

/**
 * Every change of transfer state goes through here, as one atomic script on the transfer's
 * keys; index updates that span transfers are separate idempotent commands.
 */
export class TransferStore {
  private readonly scripts = new Map<string, ScriptCall>();

  constructor(
    readonly redis: RedisClient,
    readonly prefix: string,
  ) {
    for (const script of ALL_SCRIPTS) this.register(script);
  }

  private register(script: ScriptDefinition): void {
    // Redis and Cluster both have defineCommand; their union's overloads do not unify.
    const client = this.redis as Redis;
    client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    const call = (client as unknown as Record<string, ScriptCall>)[script.name];
    if (!call) throw new Error(`script ${script.name} was not registered`);
    this.scripts.set(script.name, call.bind(client));
  }

  private run(
    script: ScriptDefinition,
    keys: string[],
    args: (string | number)[],
  ): Promise<unknown> {
    const call = this.scripts.get(script.name);
    if (!call) throw new Error(`unknown script ${script.name}`);
    return call(...keys, ...args);
  }

  private async runPair(
    script: ScriptDefinition,
    keys: string[],
    args: (string | number)[],
  ): Promise<[string, string]> {
    const result = (await this.run(script, keys, args)) as [
      string | number,
      string | number | undefined,
    ];
    return [String(result[0]), result[1] === undefined ? '' : String(result[1])];
  }

  keys(key: string) {
    return transferKeys(this.prefix, key);
  }

  /**
   * Records where a segment's bytes are. `superseded`: the stream sequence of the earlier copy
   * this one replaced (no longer referenced); 'duplicate': this copy is not referenced.
   */
  async recordSegment(
    key: string,
    s: { offset: number; seq: number; length: number; now: number; ttlMs: number },
  ): Promise<{
    status: 'ready' | 'recorded' | 'duplicate' | 'complete' | 'aborted' | 'failed';
    superseded?: number;
  }> {
    const k = this.keys(key);
    const [status, superseded] = await this.runPair(
      scripts.recordSegment,
      [k.meta, k.segs],
      [s.offset, s.seq, s.length, s.now, s.ttlMs],
    );
    return superseded === ''
      ? { status: status as 'ready' }
      : { status: status as 'ready', superseded: Number(superseded) };
  }

  async recordInit(
    key: string,
    init: {
      canonical: string;
      filemetaJson: string;
      name: string;
      clientId: string;
      fileId: string;
      now: number;
      ttlMs: number;
      declaredSize?: number;
      checksum?: string;
    },
  ): Promise<{ status: 'created' | 'same' | 'conflict' | 'aborted' | 'complete'; ready: boolean }> {
    const k = this.keys(key);
    const [status, ready] = await this.runPair(
      scripts.recordInit,
      [k.meta, k.segs],
      [
        init.canonical,
        init.filemetaJson,
        init.name,
        init.clientId,
        init.fileId,
        init.now,
        init.ttlMs,
        init.declaredSize ?? '',
        init.checksum ?? '',
      ],
    );
    return { status: status as 'created', ready: ready === '1' };
  }

  async recordFin(
    key: string,
    fin: {
      size: number;
      checksum?: string;
      reply: string;
      now: number;
      ttlMs: number;
      clientId: string;
      fileId: string;
    },
  ): Promise<{
    status: 'complete' | 'aborted' | 'failed' | 'assembling' | 'ready' | 'waiting';
    location: string;
    /** When the transfer's first unanswered fin was recorded (the grace runs from it). */
    finAt?: number;
  }> {
    const k = this.keys(key);
    const [status, second] = await this.runPair(
      scripts.recordFin,
      [k.meta, k.segs],
      [fin.size, fin.checksum ?? '', fin.reply, fin.now, fin.ttlMs, fin.clientId, fin.fileId],
    );
    if (status === 'complete') return { status, location: second };
    return { status: status as 'ready', location: '', finAt: Number(second) || fin.now };
  }

  async recordAbort(
    key: string,
    a: { now: number; ttlMs: number; clientId: string; fileId: string },
  ): Promise<{ status: 'aborted' | 'complete'; uploadId: string; finReply: string }> {
    const k = this.keys(key);
    const [status, uploadId, finReply] = (await this.run(
      scripts.recordAbort,
      [k.meta, k.segs, k.lease],
      [a.now, a.ttlMs, a.clientId, a.fileId],
    )) as [string, string?, string?];
    return { status: status as 'aborted', uploadId: uploadId ?? '', finReply: finReply ?? '' };
  }

  async acquireLease(
    key: string,
    owner: string,
    ttlMs: number,
    now: number,
  ): Promise<
    { status: 'acquired'; lease: Lease } | { status: 'busy' | 'not_ready'; state: string }
  > {
    const k = this.keys(key);
    const [status, value] = await this.runPair(
      scripts.acquireLease,
      [k.meta, k.lease],
      [owner, ttlMs, now],
    );
    if (status !== 'acquired') return { status: status as 'busy', state: value };
    const token = Number(value);
    return { status: 'acquired', lease: { key, token, value: `${token}:${owner}` } };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<boolean> {
    return (
      (await this.run(scripts.renewLease, [this.keys(lease.key).lease], [lease.value, ttlMs])) === 1
    );
  }

  async recordUpload(lease: Lease, uploadId: string): Promise<boolean> {
    const k = this.keys(lease.key);
    return (await this.run(scripts.recordUpload, [k.meta, k.lease], [lease.value, uploadId])) === 1;
  }

  async complete(
    lease: Lease,
    done: { location: string; size: number; checksum: string; now: number },
  ): Promise<{ status: 'complete' | 'lost'; finReply: string }> {
    const k = this.keys(lease.key);
    const [status, finReply] = await this.runPair(
      scripts.completeTransfer,
      [k.meta, k.segs, k.lease],
      [lease.value, done.location, done.size, done.checksum, done.now, COMPLETE_KEEP_MS],
    );
    return { status: status as 'complete', finReply };
  }

  /**
   * Marks a 'receiving', unleased transfer complete because storage already holds its verified
   * file (see scripts.completeStored); 'skipped' when it is leased or not receiving.
   */
  async completeStored(
    key: string,
    done: { location: string; size: number; checksum: string; now: number },
  ): Promise<{ status: 'complete' | 'skipped'; finReply: string }> {
    const k = this.keys(key);
    const [status, finReply] = await this.runPair(
      scripts.completeStored,
      [k.meta, k.segs, k.lease],
      [done.location, done.size, done.checksum, done.now, COMPLETE_KEEP_MS],
    );
    return status === 'complete' ? { status, finReply } : { status: 'skipped', finReply: '' };
  }

  async release(
    lease: Lease,
    r: {
      mode: 'wait' | 'fail_fin' | 'reset';
      reason: string;
      now: number;
      missing?: [number, number][];
      /** reset only: stream sequences below this are purged and never recorded again. */
      seqFloor?: number;
    },
  ): Promise<{ status: 'released' | 'lost'; finReply: string }> {
    const k = this.keys(lease.key);
    const [status, finReply] = await this.runPair(
      scripts.releaseTransfer,
      [k.meta, k.segs, k.lease],
      [
        lease.value,
        r.mode,
        r.reason,
        r.now,
        r.missing ? JSON.stringify(r.missing) : '',
        r.seqFloor ?? '',
      ],
    );
    return { status: status as 'released', finReply };
  }

  async expireFin(
    key: string,
    finAt: number,
    now: number,
    missing: [number, number][],
  ): Promise<{ status: 'expired' | 'stale'; finReply: string }> {
    const [status, finReply] = await this.runPair(
      scripts.expireFin,
      [this.keys(key).meta],
      [finAt, now, JSON.stringify(missing)],
    );
    return { status: status as 'expired', finReply };
  }

  /** Counts the transfer against its client's quota; false when the client is at its limit. */
  async admit(key: string, now: number, lapseAt: number, max: number): Promise<boolean> {
    return (
      (await this.run(
        scripts.admitTransfer,
        [this.clientActiveKey(key)],
        [key, now, lapseAt, max],
      )) === 1
    );
  }

  async releaseQuota(key: string): Promise<void> {
    await this.redis.zrem(this.clientActiveKey(key), key);
  }

  private clientActiveKey(key: string): string {
    return clientActiveKey(this.prefix, clientPart(key));
  }

  /** The size the transfer's fin declared, if a fin is waiting. */
  async finSize(key: string): Promise<number | undefined> {
    const size = await this.redis.hget(this.keys(key).meta, 'finSize');
    return size === null ? undefined : Number(size);
  }

  async get(key: string): Promise<TransferRecord | undefined> {
    const hash = await this.redis.hgetall(this.keys(key).meta);
    const record = parseTransferRecord(key, hash);
    if (record && record.clientId === '' && record.fileId === '') {
      const id = parseTransferKey(key);
      if (id) Object.assign(record, id);
    }
    return record;
  }

  async segments(key: string): Promise<SegmentLocation[]> {
    return parseSegmentMap(await this.redis.hgetall(this.keys(key).segs));
  }

  // --- indexes across transfers (separate keys, idempotent commands) ---

  async scheduleCheck(key: string, at: number): Promise<void> {
    await this.redis.zadd(dueIndexKey(this.prefix), at, key);
  }

  async unschedule(key: string): Promise<void> {
    await this.redis.zrem(dueIndexKey(this.prefix), key);
  }

  async claimDue(now: number, limit: number, claimForMs: number): Promise<string[]> {
    return (await this.run(
      scripts.claimDue,
      [dueIndexKey(this.prefix)],
      [now, limit, now + claimForMs],
    )) as string[];
  }

  /** Lists the transfer (idempotent: the first call's time stays, so the order is stable). */
  async indexTransfer(key: string, createdAt: number): Promise<void> {
    await Promise.all([
      this.redis.zadd(createdIndexKey(this.prefix), 'NX', createdAt, key),
      this.redis.zadd(clientCreatedIndexKey(this.prefix, clientPart(key)), 'NX', createdAt, key),
    ]);
  }

  // --- rebuilding after Redis lost its data ---

  /** True when Redis holds every transfer's state (nothing was lost since the last rebuild). */
  async stateIsWhole(): Promise<boolean> {
    return (await this.redis.get(stateEpochKey(this.prefix))) === 'ready';
  }

  async markStateWhole(): Promise<void> {
    await this.redis.set(stateEpochKey(this.prefix), 'ready');
  }

  /** One assembler at a time replays the stream; false when another one holds the lock. */
  async takeRebuildLock(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(rebuildLockKey(this.prefix), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async renewRebuildLock(owner: string, ttlMs: number): Promise<boolean> {
    return (
      (await this.run(scripts.renewLease, [rebuildLockKey(this.prefix)], [owner, ttlMs])) === 1
    );
  }

  async releaseRebuildLock(owner: string): Promise<void> {
    if ((await this.redis.get(rebuildLockKey(this.prefix))) === owner)
      await this.redis.del(rebuildLockKey(this.prefix));
  }
}

/** The client's part of a transfer key (base64url of the clientId). */
function clientPart(key: string): string {
  return key.slice(0, key.indexOf('.'));
}
