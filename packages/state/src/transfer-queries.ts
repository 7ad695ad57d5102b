import type { Cluster } from 'ioredis';
import { clientCreatedIndexKey, createdIndexKey, transferKeys } from './keys.js';
import { StateEpoch } from './rebuild-lock.js';
import type { RedisClient } from './redis.js';
import { readTransfer, recordFromHash, type TransferRecord } from './transfer-record.js';

/**
 * A position in a created index: the entry (score = creation ms, key). Sorted sets order by
 * score, then by member, so (score, key) is a total order that concurrent writers cannot
 * disturb: an entry keeps its score once listed (ZADD NX).
 */
export interface IndexCursor {
  score: number;
  key: string;
}

/** One live entry of a created index, with its transfer as read from Redis. */
export interface IndexedTransfer {
  score: number;
  record: TransferRecord;
}

export interface IndexScan {
  /** Live entries in index order (stale ones were skipped and removed). */
  entries: IndexedTransfer[];
  /** The last entry looked at (live or stale); pass it as `after` to go on. */
  cursor: IndexCursor | undefined;
  /** True when the index has nothing after `cursor`. */
  done: boolean;
}

/**
 * The read side of the transfer state, for the API: single transfers, and the created
 * indexes (all transfers, one client's) in a stable order. Writes nothing but the removal of
 * index entries whose transfer expired.
 */
export class TransferQueries {
  private readonly epoch: StateEpoch;

  constructor(
    readonly redis: RedisClient,
    readonly prefix: string,
  ) {
    this.epoch = new StateEpoch(redis, prefix);
  }

  /**
   * False while Redis lacks the state of some transfers (it lost its data, and the
   * assemblers have not finished rebuilding it from the stream): "not found" means nothing then.
   */
  async stateIsWhole(): Promise<boolean> {
    return this.epoch.isWhole();
  }

  get(key: string): Promise<TransferRecord | undefined> {
    return readTransfer(this.redis, this.prefix, key);
  }

  /** The transfers of `keys`, in order; undefined where a transfer is unknown or expired. */
  async getMany(keys: readonly string[]): Promise<(TransferRecord | undefined)[]> {
    if (keys.length === 0) return [];
    const metaKeys = keys.map((key) => transferKeys(this.prefix, key).meta);
    const hashes = await this.readHashes(metaKeys);
    return keys.map((key, i) => recordFromHash(key, hashes[i] ?? {}));
  }

  /**
   * Up to `limit` index entries after `after` (from the start without one), in (score, key)
   * order, with their transfers. Entries whose transfer is gone (its meta hash expired) are
   * skipped and removed from the index, so a page may hold fewer live entries than `limit`.
   */
  async scanCreated(options: {
    clientId?: string;
    after?: IndexCursor;
    limit: number;
  }): Promise<IndexScan> {
    const index = this.createdIndex(options.clientId);
    const raw = await this.rangeAfter(index, options.after, options.limit);
    const records = await this.getMany(raw.map((entry) => entry.key));
    const entries: IndexedTransfer[] = [];
    const stale: string[] = [];
    raw.forEach((entry, i) => {
      const record = records[i];
      if (record) entries.push({ score: entry.score, record });
      else stale.push(entry.key);
    });
    // A transfer re-created under the same key between our read and this removal would lose
    // its entry (ZADD NX saw it present); it is listed again at its next init, fin or abort.
    if (stale.length > 0) await this.redis.zrem(index, ...stale);
    const last = raw[raw.length - 1];
    return {
      entries,
      cursor: last ?? options.after,
      done: raw.length < options.limit,
    };
  }

  /** The key of the created index: all transfers, or one client's. */
  createdIndex(clientId?: string): string {
    if (clientId === undefined) return createdIndexKey(this.prefix);
    return clientCreatedIndexKey(this.prefix, Buffer.from(clientId, 'utf8').toString('base64url'));
  }

  /**
   * Entries strictly after the cursor, each read by one atomic command (never by offsets,
   * which concurrent inserts would shift into repeats or skips): first the cursor's ties (the
   * transfers created in its millisecond, few) whose key sorts after it, then the entries of
   * later scores.
   */
  private async rangeAfter(
    index: string,
    after: IndexCursor | undefined,
    limit: number,
  ): Promise<IndexCursor[]> {
    const result: IndexCursor[] = [];
    let min = '-inf';
    if (after !== undefined) {
      const ties = await this.redis.zrangebyscore(index, after.score, after.score);
      for (const key of ties) {
        if (key > after.key && result.length < limit) result.push({ score: after.score, key });
      }
      min = `(${after.score}`;
    }
    if (result.length >= limit) return result;
    const flat = await this.redis.zrangebyscore(
      index,
      min,
      '+inf',
      'WITHSCORES',
      'LIMIT',
      0,
      limit - result.length,
    );
    for (let i = 0; i + 1 < flat.length; i += 2)
      result.push({ key: flat[i] as string, score: Number(flat[i + 1]) });
    return result;
  }

  /**
   * HGETALL of many keys: one pipeline on a single Redis; on a Cluster the keys live on many
   * slots, which one pipeline may not span, so each goes on its own (ioredis sends them
   * concurrently).
   */
  private async readHashes(keys: string[]): Promise<Record<string, string>[]> {
    if (isCluster(this.redis)) return Promise.all(keys.map((key) => this.redis.hgetall(key)));
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hgetall(key);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, hash]) => {
      if (err) throw err;
      return hash as Record<string, string>;
    });
  }
}

function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as { isCluster?: boolean }).isCluster === true;
}
