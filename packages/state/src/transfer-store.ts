import { DEFAULT_MAX_SEGMENTS_PER_TRANSFER } from '@mqft/protocol';
import { transferKeys, type TransferKeys } from './keys.js';
import type { RedisClient } from './redis.js';
import type { ScriptRunner } from './script.js';
import * as scripts from './scripts.js';
import { scriptRunner } from './scripts.js';
import type { ReleaseMode } from './scripts.js';
import {
  encodeMissing,
  parseSegmentIndex,
  readTransfer,
  recordFromHash,
  type SegmentLocation,
  type TransferRecord,
} from './transfer-record.js';

export interface Lease {
  key: string;
  token: number;
  /** The exact lease value, compared by every fenced script. */
  value: string;
}

/**
 * How long a finished (complete or failed) transfer's record stays (GetTransfer,
 * ListTransfers, late commands).
 */
export const COMPLETE_KEEP_MS = 7 * 24 * 3600_000;

/**
 * One transfer's state: every change goes through here, as one atomic script on the
 * transfer's keys (one hash tag). The indexes across transfers, the quotas and the rebuild
 * lock have stores of their own (due-index.ts, client-quotas.ts, created-indexes.ts,
 * rebuild-lock.ts).
 */
export class TransferStore {
  private readonly scripts: ScriptRunner;

  constructor(
    readonly redis: RedisClient,
    readonly prefix: string,
  ) {
    this.scripts = scriptRunner(redis);
  }

  keys(key: string): TransferKeys {
    return transferKeys(this.prefix, key);
  }

  /**
   * Records where a segment's bytes are. `superseded`: the stream sequence of the earlier copy
   * this one replaced (no longer referenced); 'duplicate': this copy is not referenced.
   * `create` (here and in recordFin, recordAbort): whether a transfer Redis does not know may
   * be created (it was admitted against its client's quota); without it, 'unknown'.
   * `ttlMs` applies until an init gives the transfer its own.
   */
  recordSegment(
    key: string,
    s: {
      offset: number;
      seq: number;
      length: number;
      now: number;
      ttlMs: number;
      create: boolean;
      /** MQFT_MAX_SEGMENTS_PER_TRANSFER (its default if not given): a new offset past it fails the transfer. */
      maxSegments?: number;
      /**
       * MQFT_PROGRESSIVE_MIN_BYTES (0, never, if not given): from this many recorded bytes the
       * reply says `progressive` (see scripts.recordSegment), at most once per `progressiveEveryMs`.
       */
      progressiveMinBytes?: number;
      progressiveEveryMs?: number;
    },
  ) {
    return this.scripts.run(scripts.recordSegment, this.keys(key), {
      ...s,
      create: s.create ? 1 : 0,
      maxSegments: s.maxSegments ?? DEFAULT_MAX_SEGMENTS_PER_TRANSFER,
      progressiveMinBytes: s.progressiveMinBytes ?? 0,
      progressiveEveryMs: s.progressiveEveryMs ?? 0,
    });
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
  ) {
    return this.scripts.run(scripts.recordInit, this.keys(key), {
      ...init,
      declaredSize: init.declaredSize ?? '',
      checksum: init.checksum ?? '',
    });
  }

  /**
   * Records a fin. With `lease`, a fin that makes the transfer ready takes its assembly lease
   * in the same script ('leased': the lease, the record, and the segment index when it has at
   * most `listSegments` segments); see scripts.recordFin.
   */
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
      create: boolean;
      lease?: { owner: string; ttlMs: number; listSegments: number };
    },
  ) {
    const { lease, ...rest } = fin;
    const recorded = await this.scripts.run(scripts.recordFin, this.keys(key), {
      ...rest,
      checksum: fin.checksum ?? '',
      create: fin.create ? 1 : 0,
      leaseOwner: lease?.owner ?? '',
      leaseTtlMs: lease?.ttlMs ?? '',
      listSegments: lease?.listSegments ?? 0,
    });
    if (recorded.status !== 'leased') return recorded;
    if (!lease) throw new Error(`${key}: recordFin leased without an owner`);
    const record = recordFromHash(key, pairsToObject(recorded.hash));
    if (!record) throw new Error(`${key}: leased without a record`);
    return {
      status: 'leased' as const,
      finAt: recorded.finAt,
      init: recorded.init,
      lease: { key, token: recorded.token, value: `${recorded.token}:${lease.owner}` },
      deaths: recorded.deaths,
      record,
      segments: recorded.segments && parseSegmentIndex(recorded.segments),
    };
  }

  recordAbort(
    key: string,
    a: { now: number; ttlMs: number; clientId: string; fileId: string; create: boolean },
  ) {
    return this.scripts.run(scripts.recordAbort, this.keys(key), {
      ...a,
      create: a.create ? 1 : 0,
    });
  }

  /**
   * Takes the assembly lease (see scripts.acquireLease). With `listSegments`, an acquired lease
   * comes with the record and, for at most that many segments, the segment index: what the
   * assembly reads first, in the same round trip.
   */
  async acquireLease(
    key: string,
    owner: string,
    ttlMs: number,
    now: number,
    listSegments?: number,
  ): Promise<
    | {
        status: 'acquired';
        lease: Lease;
        /** Holders before this one that lost the lease while assembling (died). */
        deaths: number;
        /** With `listSegments`: the record as the lease left it. */
        record?: TransferRecord | undefined;
        /** With `listSegments`, when it had at most that many: the segment index. */
        segments?: SegmentLocation[] | undefined;
      }
    | { status: 'busy' | 'not_ready'; state: string }
    | { status: 'backoff'; retryAt: number }
  > {
    const taken = await this.scripts.run(scripts.acquireLease, this.keys(key), {
      owner,
      leaseTtlMs: ttlMs,
      now,
      listSegments: listSegments ?? '',
    });
    if (taken.status !== 'acquired') return taken;
    const { token, deaths } = taken;
    const lease = { key, token, value: `${token}:${owner}` };
    if (!('hash' in taken)) return { status: 'acquired', lease, deaths };
    return {
      status: 'acquired',
      lease,
      deaths,
      record: recordFromHash(key, pairsToObject(taken.hash)),
      segments: taken.segments && parseSegmentIndex(taken.segments),
    };
  }

  /**
   * Takes the lease of a transfer still receiving (init known, no fin yet) for progressive
   * assembly; the state stays 'receiving' (see scripts.acquireProgressive).
   */
  async acquireProgressive(
    key: string,
    owner: string,
    ttlMs: number,
    now: number,
  ): Promise<
    { status: 'acquired'; lease: Lease } | { status: 'busy' | 'not_ready'; state: string }
  > {
    const taken = await this.scripts.run(scripts.acquireProgressive, this.keys(key), {
      owner,
      leaseTtlMs: ttlMs,
      now,
    });
    if (taken.status !== 'acquired') return taken;
    return {
      status: 'acquired',
      lease: { key, token: taken.token, value: `${taken.token}:${owner}` },
    };
  }

  /**
   * The progressive holder's next page of segments after offset `after` (undefined: from the
   * first), the contiguous end from `pos` recorded as `prog` (see scripts.claimProgress).
   * `epoch`: the plan epoch the attempt started with (undefined on its first claim).
   */
  async claimProgress(
    lease: Lease,
    c: { epoch: number | undefined; after: number | undefined; pos: number; limit: number },
  ) {
    const claimed = await this.scripts.run(scripts.claimProgress, this.keys(lease.key), {
      leaseValue: lease.value,
      epoch: c.epoch ?? '',
      after: c.after ?? '',
      pos: c.pos,
      limit: c.limit,
    });
    if (claimed.status !== 'ok') return claimed;
    return { ...claimed, page: parseSegmentIndex(claimed.page) };
  }

  /** [0, size) is written: the transfer becomes 'assembling' if nothing changed (scripts.finishProgressive). */
  finishProgressive(lease: Lease, f: { epoch: number; size: number; now: number }) {
    return this.scripts.run(scripts.finishProgressive, this.keys(lease.key), {
      leaseValue: lease.value,
      ...f,
    });
  }

  /**
   * Gives a progressive lease up; the transfer stays receiving (scripts.releaseProgressive).
   * `final`: it is not offered progressive assembly again.
   */
  releaseProgressive(lease: Lease, uploadAborted: boolean, final = false): Promise<boolean> {
    return this.scripts.run(scripts.releaseProgressive, this.keys(lease.key), {
      leaseValue: lease.value,
      uploadAborted: uploadAborted ? 1 : 0,
      final: final ? 1 : 0,
    });
  }

  renewLease(lease: Lease, ttlMs: number): Promise<boolean> {
    return this.scripts.run(scripts.renewLease, this.keys(lease.key), {
      value: lease.value,
      ttlMs,
    });
  }

  recordUpload(lease: Lease, uploadId: string): Promise<boolean> {
    return this.scripts.run(scripts.recordUpload, this.keys(lease.key), {
      leaseValue: lease.value,
      uploadId,
    });
  }

  complete(lease: Lease, done: { location: string; size: number; checksum: string; now: number }) {
    return this.scripts.run(scripts.completeTransfer, this.keys(lease.key), {
      leaseValue: lease.value,
      ...done,
      keepMs: COMPLETE_KEEP_MS,
    });
  }

  /**
   * Marks a 'receiving', unleased transfer complete because storage already holds its verified
   * file (see scripts.completeStored); 'skipped' when it is leased or not receiving.
   */
  completeStored(
    key: string,
    done: { location: string; size: number; checksum: string; now: number },
  ) {
    return this.scripts.run(scripts.completeStored, this.keys(key), {
      ...done,
      keepMs: COMPLETE_KEEP_MS,
    });
  }

  release(
    lease: Lease,
    r: {
      mode: ReleaseMode;
      reason: string;
      now: number;
      missing?: [number, number][];
      /** More ranges are missing than `missing` lists. */
      missingMore?: boolean;
      /** reset only: stream sequences below this are purged and never recorded again. */
      seqFloor?: number;
    },
  ) {
    return this.scripts.run(scripts.releaseTransfer, this.keys(lease.key), {
      leaseValue: lease.value,
      mode: r.mode,
      reason: r.reason,
      now: r.now,
      missing: r.missing ? encodeMissing(r.missing, r.missingMore) : '',
      seqFloor: r.seqFloor ?? '',
    });
  }

  /**
   * Counts a failed attempt; below `maxAttempts` gives the transfer back with a back-off
   * (retryAt), at it answers 'exhausted' and keeps the lease (see scripts.retryTransfer).
   */
  retry(
    lease: Lease,
    r: { now: number; maxAttempts: number; delayMs: number; maxDelayMs: number },
  ) {
    return this.scripts.run(scripts.retryTransfer, this.keys(lease.key), {
      leaseValue: lease.value,
      ...r,
    });
  }

  /**
   * Ends the transfer as 'failed' with `reason` (told to the device and the API) and `cause`
   * (a bounded word for metrics), kept as long as a complete one; 'lost' without the lease.
   */
  fail(lease: Lease, f: { reason: string; cause: string; now: number }) {
    return this.scripts.run(scripts.failTransfer, this.keys(lease.key), {
      leaseValue: lease.value,
      ...f,
      keepMs: COMPLETE_KEEP_MS,
    });
  }

  expireFin(
    key: string,
    finAt: number,
    now: number,
    missing: [number, number][],
    missingMore = false,
  ) {
    return this.scripts.run(scripts.expireFin, this.keys(key), {
      finAt,
      now,
      missing: encodeMissing(missing, missingMore),
    });
  }

  /** Records that the complete transfer's stored file was deleted (see scripts.markFileDeleted). */
  markFileDeleted(key: string, now: number) {
    return this.scripts.run(scripts.markFileDeleted, this.keys(key), { now });
  }

  /** The size the transfer's fin declared, if a fin is waiting. */
  async finSize(key: string): Promise<number | undefined> {
    const size = await this.redis.hget(this.keys(key).meta, 'finSize');
    return size === null ? undefined : Number(size);
  }

  get(key: string): Promise<TransferRecord | undefined> {
    return readTransfer(this.redis, this.prefix, key);
  }

  /** Every recorded segment, in offset order (tests, tools; the assembler pages: segmentPage). */
  async segments(key: string): Promise<SegmentLocation[]> {
    return parseSegmentIndex(await this.redis.zrange(this.keys(key).segs, 0, -1, 'WITHSCORES'));
  }

  /**
   * Up to `limit` recorded segments in offset order, from the first one whose offset is above
   * `after` (from the first of all when `after` is undefined): one ZRANGEBYSCORE, so the
   * assembler reads any number of segments in memory bounded by `limit`.
   */
  async segmentPage(
    key: string,
    after: number | undefined,
    limit: number,
  ): Promise<SegmentLocation[]> {
    const from = after === undefined ? '-inf' : `(${after}`;
    const page = await this.redis.zrangebyscore(
      this.keys(key).segs,
      from,
      '+inf',
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    return parseSegmentIndex(page);
  }
}

/** A flat [field, value, …] reply (HGETALL in a script) as an object. */
function pairsToObject(flat: readonly string[]): Record<string, string> {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) object[flat[i] as string] = flat[i + 1] as string;
  return object;
}
